"""Celery tasks: thin glue that loads rows, calls ``ml`` and writes results through the domain actions.

Tasks take primary keys, are idempotent and are routed by name: ``workers.scan.*`` → scan,
``workers.banks.*`` → index, ``workers.notify.*`` → notify.
"""
