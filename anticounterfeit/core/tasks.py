"""The names of the Celery tasks the apps queue (``anticounterfeit.core.queue.enqueue``).

The apps never import ``workers``; they name its tasks. ``tests/unit/test_task_registry.py`` checks that every name
here is a task the worker registers.
"""
SCAN_LISTING = "workers.scan.scan_listing"
SCAN_BATCH = "workers.scan.scan_batch"
SCAN_FOLLOWUP = "workers.scan.scan_ocr"
REBUILD_BANKS = "workers.bank_builds.rebuild_banks"
RECORD_COUNTERFEIT = "workers.bank_builds.record_counterfeit"
EXCLUDE_REFERENCE = "workers.bank_builds.exclude_reference"
RECORD_CATALOG_CHANGE = "workers.bank_builds.record_catalog_change"
IMPORT_UPLOAD = "workers.retro.import_upload"
MATCH_EXISTING = "workers.retro.match_existing"
LINK_SELLERS = "workers.trust.link_sellers"
CREDIT_ACCOUNT_AGE = "workers.trust.credit_account_age"
SEND_NOTIFICATION_EMAIL = "workers.notify.send_notification_email"
DELIVER_WEBHOOK = "workers.notify.deliver_webhook"
WARM_DETECTOR = "workers.scan.warm_detector"
