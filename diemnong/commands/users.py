"""`diemnong users add|list|set-role|password|disable|enable|token`: accounts of the web app.

Passwords are prompted twice (hidden) or read from the first line of stdin with
``--password-stdin`` (scripts); they never appear as arguments, where ``ps`` would show them.
`token` prints a new API token once: only its hash is kept.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from api.auth.passwords import WeakPassword, check_strength
from api.auth.users import (
    InvalidUsername,
    UnknownUser,
    User,
    UserExists,
    UserStore,
    ensure_users_index,
    normalize_username,
    users_index,
)
from complaints.privacy import Role
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context

app = typer.Typer(
    help="Tài khoản người dùng — web app accounts: add, list, roles, disable, API tokens.",
    no_args_is_help=True,
)

ERRORS = (*OPERATOR_ERRORS, InvalidUsername, UnknownUser, UserExists, WeakPassword)

UsernameArg = Annotated[str, typer.Argument(help="Tên đăng nhập / user name (lowercased).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _store(cli: CliContext) -> UserStore:
    engine = cli.engine()
    index = users_index(cli.services_names())
    ensure_users_index(engine, index, cli.settings.index)
    return UserStore(engine, index)


def _login(cli: CliContext, username: str) -> str:
    try:
        return normalize_username(username)
    except InvalidUsername as error:
        raise cli.fail(error) from None


def _password(cli: CliContext, username: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            "Mật khẩu / password", hide_input=True, confirmation_prompt=True, err=True
        )
    try:
        check_strength(password, username)
    except WeakPassword as error:
        raise cli.fail(error) from None
    return password


@app.command()
def add(
    ctx: typer.Context,
    username: UsernameArg,
    role: Annotated[Role, typer.Option(help="Vai trò / role.")],
    name: Annotated[str | None, typer.Option(help="Họ tên hiển thị / display name.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user (password at least 10 characters, asked twice unless --password-stdin)."""
    cli = context(ctx)
    login = _login(cli, username)
    password = _password(cli, login, password_stdin)
    try:
        store = _store(cli)
        try:
            user = store.add(login, password, role, display_name=name)
        finally:
            store.engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(f"đã tạo / added {user.username} ({user.role.value})", highlight=False)


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Every user with role and status (no passwords, no tokens)."""
    cli = context(ctx)
    try:
        store = _store(cli)
        try:
            users = store.list_users()
        finally:
            store.engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    table = Table(title=f"{len(users)} người dùng / users")
    for column in ("Tên đăng nhập", "Họ tên", "Vai trò", "Trạng thái", "Tạo lúc"):
        table.add_column(column, overflow="fold")
    for user in users:
        status = "đã khoá / disabled" if user.disabled else "hoạt động / active"
        created = f"{user.created_at:%d/%m/%Y %H:%M}"
        table.add_row(user.username, user.display_name or "", user.role.value, status, created)
    cli.console.print(table)


def _change(ctx: typer.Context, what: str, action: Callable[[UserStore], User]) -> None:
    cli = context(ctx)
    try:
        store = _store(cli)
        try:
            user = action(store)
        finally:
            store.engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(f"{user.username}: {what}", highlight=False)


@app.command("set-role")
def set_role(ctx: typer.Context, username: UsernameArg, role: Role) -> None:
    """Change a user's role (applies to their next request)."""
    _change(ctx, f"vai trò / role = {role.value}", lambda store: store.set_role(username, role))


@app.command()
def password(
    ctx: typer.Context, username: UsernameArg, password_stdin: PasswordStdin = False
) -> None:
    """Set a new password for a user."""
    cli = context(ctx)
    login = _login(cli, username)
    new = _password(cli, login, password_stdin)
    _change(ctx, "đã đổi mật khẩu / password set", lambda store: store.set_password(login, new))


@app.command()
def disable(ctx: typer.Context, username: UsernameArg) -> None:
    """Disable a user: no sign-in, sessions and API tokens stop working at once."""
    _change(ctx, "đã khoá / disabled", lambda store: store.disable(username))


@app.command()
def enable(ctx: typer.Context, username: UsernameArg) -> None:
    """Re-enable a disabled user."""
    _change(ctx, "đã mở khoá / enabled", lambda store: store.disable(username, disabled=False))


@app.command()
def token(
    ctx: typer.Context,
    username: UsernameArg,
    name: Annotated[str, typer.Option(help="Nhãn / label, e.g. 'báo cáo tuần'.")] = "",
) -> None:
    """Create an API token for a user and print it once (send as 'Authorization: Bearer ...')."""
    cli = context(ctx)
    try:
        store = _store(cli)
        try:
            created = store.create_token(username, name)
        finally:
            store.engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    cli.err.print(
        f"mã truy cập / API token {created.token.id} cho / for {created.token.username} — "
        "chỉ hiện một lần / shown once, store it now:",
        highlight=False,
    )
    typer.echo(created.secret)
