"""The desk's pages: Starlette routes rendering Jinja2 templates, every action a call on `Desk`.

Server-rendered HTML and one stylesheet; every page works without script: the consolidation's progress page
refreshes itself (a meta refresh), and the upload's file input takes a click or a drop. `static/desk.js`
(a few lines) only widens the drop target to the whole zone and lists the files chosen.

Every page is of one round: the served one, or the one its `?round=` names (a link on the board for every
round the ledger holds); its links and forms keep it, so an upload or a self-check goes to the round the
page showed. A round the desk does not serve is said on the page (404), never a server error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.i18n import LANGS
from pipeline.record.ledger import LedgerError
from pipeline.report.status import LONG_PAST
from pipeline.web import security
from pipeline.web.desk import Desk, UnknownRound, Upload
from pipeline.web.messages import word

HERE = Path(__file__).parent
MiB = 1024 * 1024
MAX_FILES = 50  # files in one upload: a round is 41 returns
MAX_FILE_BYTES = 25 * MiB  # the preflight's own ceiling for one return
MAX_BODY_BYTES = 100 * MiB  # one request, all files together
LANG_COOKIE = "ictplan_lang"
PUBLIC_PATHS = ("/self-check", "/login", "/static/")  # open to agencies when the desk serves the network


@dataclass
class Config:
    """How the desk is served: on this PC only, or on the network behind the staff password."""

    lang: str = "vi"
    login_required: bool = False
    password: dict[str, Any] | None = None  # the stored hash (security.load_password)
    hosts: set[str] = field(default_factory=set)  # Host header names accepted (without port)
    today: dt.date | None = None  # for the days to the deadline; None: the real date


def build_app(desk: Desk, config: Config) -> Guard:
    """The ASGI app: the routes inside the Guard."""
    pages = Pages(desk, config)
    routes = [
        Route("/", pages.board),
        Route("/api/board", pages.board_json),
        Route("/upload", pages.upload_form),
        Route("/upload", pages.upload, methods=["POST"]),
        Route("/self-check", pages.self_check_form),
        Route("/self-check", pages.self_check, methods=["POST"]),
        Route("/self-check/{token}/{index:int}", pages.self_check_feedback),
        Route("/consolidate", pages.consolidate, methods=["POST"]),
        Route("/consolidate/{job}", pages.job),
        Route("/outputs", pages.outputs),
        Route("/files/{path:path}", pages.download),
        Route("/return/{id:int}", pages.return_page),
        Route("/login", pages.login_form),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: pages.error, LedgerError: pages.ledger_error,
                                                       UnknownRound: pages.unknown_round})
    return Guard(app, pages)


class Guard:
    """Around every request: the Host header, the body's size, the staff login, the CSRF cookie, the
    language, and the security headers on every answer."""

    def __init__(self, app: ASGIApp, pages: Pages) -> None:
        self.app, self.pages = app, pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        config = self.pages.config
        state = scope.setdefault("state", {})
        lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or config.lang
        state["lang"] = lang if lang in LANGS else config.lang
        state["csrf"] = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf_token()
        state["staff"] = not config.login_required or self.pages.sessions.valid(
            request.cookies.get(security.SESSION_COOKIE))
        cookies = []
        if request.cookies.get(security.CSRF_COOKIE) != state["csrf"]:
            cookies.append(_cookie(security.CSRF_COOKIE, state["csrf"]))
        if request.query_params.get("lang") in LANGS:
            cookies.append(_cookie(LANG_COOKIE, state["lang"], http_only=False))

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {h.encode() for h in security.HEADERS}]
                headers += [(k.encode(), v.encode()) for k, v in security.HEADERS.items()]
                headers += [(b"set-cookie", c.encode("latin-1")) for c in cookies]
                message = {**message, "headers": headers}
            await send(message)

        refusal = self.refusal(request, state)
        if refusal is not None:
            await refusal(scope, receive, send_guarded)
            return
        await self.app(scope, _limited(receive, MAX_BODY_BYTES), send_guarded)

    def refusal(self, request: Request, state: dict[str, Any]) -> Response | None:
        config, lang, path = self.pages.config, state["lang"], request.url.path
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if config.hosts and host not in config.hosts:
            return self.pages.message(request, word("error.host", lang), 421)
        if request.method == "POST":
            if not security.origin_ok(request.headers.get("origin"), request.headers.get("host")):
                return self.pages.message(request, word("error.csrf", lang), 403)
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                return self.pages.message(request, word("upload.body_too_large", lang,
                                                        mb=MAX_BODY_BYTES // MiB), 413)
        if not state["staff"] and not path.startswith(PUBLIC_PATHS):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return None


def _limited(receive: Receive, limit: int) -> Receive:
    """The request body, cut off past `limit` bytes (a body sent without Content-Length, or lying about it)."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413)
        return message

    return limited


def _cookie(name: str, value: str, *, http_only: bool = True) -> str:
    return f"{name}={value}; Path=/; SameSite=Strict" + ("; HttpOnly" if http_only else "")


class Pages:
    def __init__(self, desk: Desk, config: Config) -> None:
        self.desk, self.config = desk, config
        self.sessions = security.Sessions()
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(number=vi_number, when=_when, quote=quote, what=_what)

    # --- rendering ---------------------------------------------------------------------------------------
    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = request.state.lang
        other = "en" if lang == "vi" else "vi"
        shown = context.pop("shown_round", None) or getattr(request.state, "round", None)
        asked = shown if shown and shown != self.desk.round else None  # the served round's links stay plain
        html = self.env.get_template(template).render(
            request=request, lang=lang, other_lang=other, csrf=request.state.csrf, staff=request.state.staff,
            login_required=self.config.login_required, w=lambda key, **p: word(key, lang, **p),
            here=request.url.path, switch=_with_lang(request, other), round_param=asked,
            link=lambda path, **params: _link(path, asked, params), **context)
        return HTMLResponse(html, status_code=status)

    def desk_of(self, request: Request) -> Desk:
        """The desk of the round the request names (`?round=`), the served round's without one."""
        desk = self.desk.for_round(request.query_params.get("round"))
        request.state.round = desk.round
        return desk

    async def unknown_round(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UnknownRound)
        lang = request.state.lang
        key = "round.no_spec" if exc.no_spec else "round.unknown"
        return self.render(request, "message.html", status=404, text=word(key, lang, round=exc.asked,
                                                                          known=", ".join(exc.known)),
                           rounds=exc.known)

    def message(self, request: Request, text: str, status: int) -> HTMLResponse:
        return self.render(request, "message.html", status=status, text=text)

    async def error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        lang = request.state.lang
        if status == 413:
            return self.message(request, word("upload.body_too_large", lang, mb=MAX_BODY_BYTES // MiB), 413)
        if status == 404:
            return self.message(request, word("error.not_found", lang), 404)
        if status == 403:
            return self.message(request, word("error.csrf", lang), 403)
        return self.message(request, str(getattr(exc, "detail", "")), status)

    async def ledger_error(self, request: Request, exc: Exception) -> Response:
        """A corrupt or busy ledger: said on the page, as `ictplan` says it; the desk goes on serving."""
        return self.message(request, word("consolidate.failed", request.state.lang, error=exc), 503)

    async def form(self, request: Request) -> Any:
        """The POSTed form, within the limits, after its CSRF token is checked (HTTPException otherwise)."""
        from starlette.formparsers import MultiPartException

        lang = request.state.lang
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=20)
        except (MultiPartException, HTTPException) as err:  # Starlette turns the first into the second
            if isinstance(err, HTTPException) and err.status_code != 400:
                raise
            too_many = "too many files" in str(getattr(err, "detail", err)).lower()
            raise HTTPException(400, word("upload.too_many", lang, files=MAX_FILES) if too_many
                                else word("error.bad_form", lang, reason=getattr(err, "detail", err))) from None
        if not security.csrf_ok(request.cookies.get(security.CSRF_COOKIE), form.get(security.CSRF_FIELD)):
            raise HTTPException(403)
        return form

    # --- board -------------------------------------------------------------------------------------------
    async def board(self, request: Request) -> Response:
        lang = request.state.lang
        desk = self.desk_of(request)
        status = await run_in_threadpool(desk.board, self.config.today)
        rounds = await run_in_threadpool(desk.rounds)
        rows = [self.board_row(a, status.deadline, lang, desk) for a in status.agencies]
        params = request.query_params
        state, group, text = params.get("state", ""), params.get("group", ""), params.get("q", "").strip()
        shown = [r for r in rows if (not state or state in r["states"]) and (not group or r["group"] == group)
                 and (not text or _matches(text, r))]
        counts = {key: sum(1 for r in rows if key in r["states"]) for key in BOARD_STATES}
        groups = sorted({(r["group"], r["group_label"]) for r in rows})
        return self.render(request, "board.html", rows=shown, all_rows=rows, counts=counts, states=BOARD_STATES,
                           groups=groups, state=state, group=group, q=text, round=status.round,
                           form_id=status.form_id, rounds=rounds if len(rounds) > 1 else [],
                           deadline=deadline_line(status, lang), outputs=desk.outputs())

    async def board_json(self, request: Request) -> Response:
        desk = self.desk_of(request)
        status = await run_in_threadpool(desk.board, self.config.today)
        return JSONResponse(status.to_dict())

    def board_row(self, agency: Any, deadline: dt.date | None, lang: str, desk: Desk) -> dict[str, Any]:
        """One agency's line on the board: its state, its newest file, and how it stands against the deadline."""
        latest = agency.latest
        states = {agency.state} | ({SUPERSEDED} if agency.superseded else set())
        return {
            "code": agency.code, "name": agency.agency.name(lang), "group": agency.agency.group,
            "group_label": agency.agency.group_vi if lang == "vi" else agency.agency.group_en,
            "state": agency.state, "states": states, "superseded": agency.superseded,
            "pending": agency.pending is not None, "latest": latest, "file": latest.file if latest else None,
            "received": len(agency.returns),
            "feedback": desk_relative(desk, latest.feedback) if latest and latest.feedback else None,
            "deadline": against_deadline(latest.received_at.date() if latest else None, deadline, lang),
        }

    # --- upload --------------------------------------------------------------------------------------------
    async def upload_form(self, request: Request) -> Response:
        desk = self.desk_of(request)
        return self.render(request, "upload.html", max_files=MAX_FILES, max_mb=MAX_FILE_BYTES // MiB,
                           into=self.round_words(desk))

    @staticmethod
    def round_words(desk: Desk) -> dict[str, str]:
        """What the upload and self-check pages say of the round their files go to."""
        return {"round": desk.round, "form_id": str(desk.spec.form_id),
                "title": str(desk.spec.form.get("title_vi") or desk.spec.form_id)}

    async def files_of(self, request: Request) -> tuple[list[Upload], list[str]]:
        """The files of a POSTed form, and the messages for those refused (too large, too many)."""
        form = await self.form(request)
        lang = request.state.lang
        sent = [f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]
        refused = []
        if len(sent) > MAX_FILES:
            return [], [word("upload.too_many", lang, files=MAX_FILES)]
        files = []
        for item in sent:
            if (item.size or 0) > MAX_FILE_BYTES:
                refused.append(word("upload.too_large", lang, name=item.filename, mb=MAX_FILE_BYTES // MiB))
                continue
            files.append(Upload(item.filename or "", await item.read()))
            await item.close()
        return files, refused

    def nothing_sent(self, request: Request, form: str, refused: list[str], desk: Desk) -> Response:
        """The form again, saying why nothing was taken (no file chosen, or every file refused)."""
        return self.render(request, form, status=400, max_files=MAX_FILES, max_mb=MAX_FILE_BYTES // MiB,
                           refused=refused or [word("upload.none", request.state.lang)], into=self.round_words(desk))

    async def upload(self, request: Request) -> Response:
        desk = self.desk_of(request)  # before the body is read: a round it does not serve takes nothing
        files, refused = await self.files_of(request)
        if not files:
            return self.nothing_sent(request, "upload.html", refused, desk)
        saved, outcome = await run_in_threadpool(desk.upload, files)
        from pipeline.record.lock import Holder

        held = outcome if isinstance(outcome, Holder) else None
        failed = str(outcome) if isinstance(outcome, Exception) else None
        results, others = [], 0
        if held is None and failed is None:
            by_name = {f.name: f for f in outcome.files}
            results = [(name, by_name.get(name)) for name in saved]
            others = sum(1 for f in outcome.files if f.name not in set(saved))
        feedback = {} if held or failed else {k.split(":", 1)[1]: desk_relative(desk, v)
                                              for k, v in outcome.outputs.items() if k.startswith("feedback:")}
        return self.render(request, "upload_result.html", results=results, saved=saved, held=held, failed=failed,
                           refused=refused, others=others, feedback=feedback, into=self.round_words(desk))

    # --- self-check ----------------------------------------------------------------------------------------
    async def self_check_form(self, request: Request) -> Response:
        desk = self.desk_of(request)
        return self.render(request, "self_check.html", max_files=MAX_FILES, max_mb=MAX_FILE_BYTES // MiB,
                           into=self.round_words(desk))

    async def self_check(self, request: Request) -> Response:
        desk = self.desk_of(request)
        files, refused = await self.files_of(request)
        if not files:
            return self.nothing_sent(request, "self_check.html", refused, desk)
        token, results = await run_in_threadpool(desk.self_check, files)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse([{"file": r.name, "status": r.verdict.status,
                                  "issues": [i.to_dict() for i in r.verdict.issues]} for r in results])
        return self.render(request, "self_check_result.html", token=token, results=results, refused=refused,
                           into=self.round_words(desk))

    async def self_check_feedback(self, request: Request) -> Response:
        desk = self.desk_of(request)
        path = await run_in_threadpool(desk.self_check_feedback, request.path_params["token"],
                                       request.path_params["index"])  # written now, on its first download
        if path is None or not path.is_file():
            raise HTTPException(404)
        return _download(path)

    # --- consolidation -------------------------------------------------------------------------------------
    async def consolidate(self, request: Request) -> Response:
        desk = self.desk_of(request)
        await self.form(request)
        job = desk.start_consolidation()
        return RedirectResponse(_link(f"/consolidate/{job.id}", desk.round if desk is not self.desk else None, {}),
                                status_code=303)

    async def job(self, request: Request) -> Response:
        desk = self.desk_of(request)
        job = desk.jobs.get(request.path_params["job"])
        if job is None:
            raise HTTPException(404)
        return self.render(request, "job.html", job=job, outputs=desk.outputs() if job.finished else None)

    async def outputs(self, request: Request) -> Response:
        return self.render(request, "outputs.html", outputs=self.desk_of(request).outputs())

    async def download(self, request: Request) -> Response:
        path = self.desk_of(request).output_file(request.path_params["path"])
        if path is None:
            raise HTTPException(404)
        return _download(path)

    # --- a return ------------------------------------------------------------------------------------------
    async def return_page(self, request: Request) -> Response:
        number = request.path_params["id"]
        found = await run_in_threadpool(self.desk.submission, number)
        lang = request.state.lang
        if found is None:
            return self.message(request, word("return.missing", lang, id=number), 404)
        try:  # shown with its own round's form, its feedback from that round's folder
            desk = self.desk.for_round(found["row"]["round"])
        except UnknownRound:  # a round of the ledger whose spec is nowhere: the served form's labels
            desk = self.desk
        found["feedback"] = desk.feedback_of(found["row"]["file_name"], found["row"]["agency_code"])
        agency = desk.registry.by_code.get(found["row"]["agency_code"] or "")
        return self.render(request, "return.html", r=found, agency=agency, sheets=self.value_rows(found, lang, desk),
                           project_columns=self.project_columns(found, desk), this_id=number,
                           shown_round=desk.round)

    def value_rows(self, found: dict[str, Any], lang: str, desk: Desk) -> list[tuple[str, list[dict[str, Any]]]]:
        """The return's fields in form order, sheet by sheet: label, value, what the cell held, its cell."""
        spec, values, raw, cells = desk.spec, found["values"], found["raw"], found["cells"]
        out = []
        for sheet in spec.sheets:
            rows = []
            for section in sheet.sections:
                for field_id in section.fields:
                    spec_field = spec.fields.get(field_id)
                    if spec_field is None or (field_id not in values and field_id not in raw):
                        continue
                    where = cells.get(field_id) or [None, None]
                    rows.append({"label": spec_field.label(lang), "unit": spec_field.unit,
                                 "value": show_value(values.get(field_id), spec_field, spec, lang),
                                 "raw": raw.get(field_id), "sheet": where[0], "cell": where[1]})
            if rows:
                out.append((sheet.name, rows))
        return out

    def project_columns(self, found: dict[str, Any], desk: Desk) -> list[tuple[str, str, str]]:
        table = desk.spec.table
        if table is None:
            return []
        letters = found["project_columns"]
        return [(c.id, c.vi, letters.get(c.id, "")) for c in table.columns]

    # --- login ---------------------------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", next=_local(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        target = _local(form.get("next"))
        stored = self.config.password
        ok = stored is not None and await run_in_threadpool(security.verify_password,
                                                            str(form.get("password", "")), stored)
        if not ok:
            return self.render(request, "login.html", status=403, next=target,
                               error=word("login.wrong", request.state.lang))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(security.SESSION_COOKIE, self.sessions.open(), max_age=security.SESSION_SECONDS,
                            httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        self.sessions.close(request.cookies.get(security.SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(security.SESSION_COOKIE)
        return response


SUPERSEDED = "superseded"  # on the board: an agency that resubmitted (a newer file replaced an older one)
BOARD_STATES = ("missing", "valid", "valid_with_warnings", "not_valid", SUPERSEDED)


def deadline_line(status: Any, lang: str) -> str | None:
    """The round's deadline line, in `ictplan status`'s words (RoundStatus.deadline_key)."""
    if status.deadline_key is None:
        return None
    return word(status.deadline_key, lang, deadline=status.deadline.strftime("%d/%m/%Y"),
                days=abs(status.days_to_deadline))


def against_deadline(received: dt.date | None, deadline: dt.date | None, lang: str) -> str:
    """A received file: on time, or how late; nothing received: nothing (the round's line says the days)."""
    if deadline is None or received is None:
        return ""
    late = (received - deadline).days
    if late > LONG_PAST:
        return word("days.long_late", lang, n=LONG_PAST)
    return word("days.late", lang, n=late) if late > 0 else word("days.on_time", lang)


def _matches(text: str, row: dict[str, Any]) -> bool:
    from pipeline.normalize import normalize_key as fold

    needle = fold(text)
    return needle in fold(row["code"]) or needle in fold(row["name"]) or needle in fold(row["file"] or "")


def _with_lang(request: Request, lang: str) -> str:
    """This page in the other language, its filters kept (after a POST: the form it came from, its round)."""
    from urllib.parse import urlencode

    kept = request.query_params if request.method == "GET" else {
        k: v for k, v in request.query_params.items() if k == "round"}
    params = {**kept, "lang": lang}
    return f"{request.url.path}?{urlencode(params)}"


def _link(path: str, round_: str | None, params: dict[str, Any]) -> str:
    """A link of the desk on the page's round: `path` with `params` and, on a round other than the served one,
    ``round=`` (encoded: the round's name is checked before it is ever shown, and escaped anyway)."""
    from urllib.parse import urlencode

    query = {k: v for k, v in params.items() if v not in (None, "")}
    if round_:
        query["round"] = round_
    return f"{path}?{urlencode(query)}" if query else path


def desk_relative(desk: Desk, path: str) -> str | None:
    """`path` relative to the round's output folder (None if outside it: no link)."""
    try:
        return Path(path).resolve().relative_to(desk.paths.out.resolve()).as_posix()
    except ValueError:
        return None


def _download(path: Path) -> Response:
    return FileResponse(path, filename=path.name, content_disposition_type="attachment")


def _local(target: Any) -> str:
    """A redirect target inside the desk only (no other site after logging in)."""
    text = str(target or "/")
    parts = urlsplit(text)
    return text if text.startswith("/") and not text.startswith("//") and not parts.netloc else "/"


def vi_number(value: Any, lang: str = "vi") -> str:
    """1234567.5 → "1.234.567,5" in Vietnamese, "1,234,567.5" in English."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}".rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def show_value(value: Any, spec_field: Any, spec: Any, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return word("yes" if value else "no", lang)
    if spec_field.value_type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y")
    if spec_field.choices and isinstance(value, str):
        return spec.choice_label(spec_field.choices, value, lang)
    return vi_number(value, lang)


def _what(issue: Any, lang: str) -> str:
    """An issue's message without its location, shown in a column of its own beside it."""
    message, where = issue.message(lang), issue.where(lang)
    if where and message.startswith(where + ": "):
        message = message[len(where) + 2:]
    return message[:1].upper() + message[1:]


def _when(moment: str | dt.datetime | None) -> str:
    """A time as Vietnamese readers write it: 15/10/2007 09:30."""
    if not moment:
        return ""
    when = moment if isinstance(moment, dt.datetime) else dt.datetime.fromisoformat(moment)
    return when.strftime("%d/%m/%Y %H:%M")


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
