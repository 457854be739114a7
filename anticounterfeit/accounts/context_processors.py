from .models import role_of


def role(request) -> dict:
    return {"role": role_of(getattr(request, "user", None))}
