"""The small HTML pages outside Dash (sign-in, sign-out, refusals) and JSON error answers."""

from __future__ import annotations

from typing import Any

import flask

from control_tower.web.auth import WebUser, current_web_user, home_path
from control_tower.web.sessions import csrf_token

__all__ = ["LOGIN_PAGE", "json_error", "notice", "render"]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Control Tower</title>
<link rel="stylesheet" href="{{ prefix }}assets/control-tower.css">
</head>
<body class="auth-body">
<main class="auth-card" id="auth-card">
<div class="auth-brand"><span class="shell-logo" aria-hidden="true">◆</span> Control Tower</div>
{% block content %}{% endblock %}
</main>
</body>
</html>"""

LOGIN_PAGE = _PAGE.replace(
    "{% block content %}{% endblock %}",
    """<h1>Sign in</h1>
{% if message %}<p class="auth-message" role="alert" id="login-error"><span aria-hidden="true">⚠</span> {{ message }}</p>{% endif %}
<form method="post" action="{{ prefix }}login" id="login-form" autocomplete="on">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next or '' }}">
<label for="login-name">User name</label>
<input id="login-name" name="name" type="text" autocomplete="username" required autofocus value="{{ name or '' }}" maxlength="128">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" id="login-submit">Sign in</button>
</form>
<p class="auth-note">Accounts are created by an administrator with <code>control-tower users add</code>.</p>""",
)

_NOTICE = _PAGE.replace(
    "{% block content %}{% endblock %}",
    """<h1>{{ title }}</h1>
<p id="auth-notice">{{ message }}</p>
<p class="auth-actions">{% if home %}<a href="{{ home }}">Go to your start page</a>{% endif %}</p>
{% if user %}<form method="post" action="{{ prefix }}logout" id="logout-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit" id="logout-submit">Sign out {{ user }}</button>
</form>{% endif %}""",
)


def render(template: str, status: int = 200, **context: Any) -> flask.Response:
    prefix = flask.current_app.config.get("CT_PATH_PREFIX", "/")
    html = flask.render_template_string(template, prefix=prefix, **context)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def notice(title: str, message: str, status: int) -> flask.Response:
    """A small page outside Dash: a title, a sentence, a link home and a sign-out button."""
    user = current_web_user()
    return render(
        _NOTICE,
        status,
        title=title,
        message=message,
        user=user.name if user else None,
        home=_home_url(user),
        csrf=csrf_token() if user else "",
    )


def _home_url(user: WebUser | None) -> str | None:
    path = home_path(user.role if user else None)
    prefix = flask.current_app.config.get("CT_PATH_PREFIX", "/")
    return prefix.rstrip("/") + path if path else None


def json_error(status: int, message: str) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
