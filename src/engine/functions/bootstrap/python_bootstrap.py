# The project's Python runtime: imports the handler named by _HANDLER ("module.function") from
# LAMBDA_TASK_ROOT and serves invocations from the Lambda Runtime API, one at a time.
# Standard library only, and as little of it as possible: every import is paid on each cold start
# (an HTTP client on the C-level socket module, JSON on the C-level _json module, traceback only
# when an error needs it).
import _json
import _socket
import os
import sys
import time

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
BASE = "/2018-06-01/runtime"


# `import json` pulls in re and enum, which cost more than the rest of a cold start; the json
# package's own C accelerators, set up as json.loads / json.dumps set them up (default settings),
# give the same results for events and responses.
class JSONDecodeError(ValueError):
    pass


class _DecoderSettings:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_DecoderSettings())
_WHITESPACE = " \t\n\r"


def json_loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise JSONDecodeError(f"Expecting value: char {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise JSONDecodeError(f"Extra data: char {end}")
    return value


def _not_serializable(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _encoder(default):
    return _json.make_encoder({}, default, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)


# a handler's result is encoded with the default settings: one encoder for all of them
_encode = _encoder(_not_serializable)


def json_dumps(value, default=_not_serializable):
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    encode = _encode if default is _not_serializable else _encoder(default)
    return "".join(encode(value, 0))


class RuntimeApi:
    """HTTP/1.1 over one kept-alive connection: enough for the Runtime API's small requests."""

    def __init__(self):
        self.sock = None
        self.buf = b""

    def connect(self):
        self.sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        self.sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self.sock.connect((HOST, int(PORT)))
        self.buf = b""

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the Runtime API closed the connection")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("the Runtime API closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    @staticmethod
    def message(method, path, body=b"", headers=None):
        lines = [f"{method} {BASE}{path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def request(self, method, path, body=b"", headers=None):
        return self.pipelined(self.message(method, path, body, headers))

    def pipelined(self, *messages):
        """Sends the requests in one write; returns the answer to the first (the others' are read by read())."""
        if self.sock is None:
            self.connect()
        self.sock.sendall(b"".join(messages))
        return self.read()

    def read(self):
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        return status, fields, self._read_exact(int(fields.get("content-length", "0")))


api = RuntimeApi()


# ---- errors, as AWS's Python runtime reports them ----

def user_frames(tb):
    """The traceback's frames from the first that is not the bootstrap's (the user's code first)."""
    import traceback
    frames = traceback.extract_tb(tb)
    # the bootstrap runs compiled: its frames name the file it was compiled from, as its code does
    while frames and frames[0].filename == user_frames.__code__.co_filename:
        frames.pop(0)
    return frames


def error_doc(exc, request_id=""):
    import traceback
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(user_frames(exc.__traceback__)),
    }


def log_error(doc):
    """The runtime's log line for a failure: "[ERROR] Type: message" and the traceback, one event."""
    if LOG_FORMAT_JSON:
        line = json_dumps({"timestamp": iso_time(time.time(), False), "level": "ERROR", **doc})
    else:
        lines = [f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", "Traceback (most recent call last):"]
        lines += [s.rstrip("\n") for s in doc["stackTrace"]]
        line = "\r".join(lines).replace("\n", "\r")
    sys.stdout.write(line + "\n")


def post_error(path, doc):
    api.request("POST", path, json_dumps(doc).encode(), {
        "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": doc["errorType"]})


# ---- logging: Lambda's handler on the root logger, and the advanced logging controls ----

LOG_FORMAT_JSON = os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON"
current_request_id = None


def iso_time(t, millis):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return f"{stamp}.{int(t * 1000) % 1000:03d}Z" if millis else f"{stamp}Z"


def install_log_handler(logging):
    """Lambda's handler on the root logger: "[LEVEL]\t<time>\t<request id>\t<message>" lines at INFO,
    or with AWS_LAMBDA_LOG_FORMAT=JSON one JSON object per record at AWS_LAMBDA_LOG_LEVEL."""
    standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "aws_request_id"}

    class LambdaLogHandler(logging.Handler):
        def emit(self, record):
            try:
                record.aws_request_id = current_request_id or ""
                sys.stdout.write(self.format(record).replace("\n", "\r") + "\n")
            except Exception:
                self.handleError(record)

    class TextFormatter(logging.Formatter):
        def format(self, record):
            text = super().format(record)
            return f"[{record.levelname}]\t{iso_time(record.created, True)}\t{record.aws_request_id}\t{text}"

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            # the level named by its tens (a custom level 25 is INFO); a dict message stays an object
            level = logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10)
            message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
            doc = {"timestamp": iso_time(record.created, False), "level": level, "message": message, "logger": record.name}
            if record.exc_info and record.exc_info[1] is not None:
                import traceback
                doc["stackTrace"] = traceback.format_tb(record.exc_info[2])
                doc["errorType"] = type(record.exc_info[1]).__name__
                doc["errorMessage"] = str(record.exc_info[1])
            doc["requestId"] = record.aws_request_id or None
            if record.exc_info:
                doc["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
            for key, value in vars(record).items():
                if key not in standard and key not in doc:
                    doc[key] = value
            return json_dumps({k: v for k, v in doc.items() if v is not None}, default=str)

    handler = LambdaLogHandler()
    handler.setFormatter(JsonFormatter() if LOG_FORMAT_JSON else TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    # TRACE is Python's DEBUG; WARN and FATAL are names logging knows
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper() if LOG_FORMAT_JSON else "INFO"
    root.setLevel({"TRACE": "DEBUG"}.get(level, level) if level in logging._nameToLevel or level == "TRACE" else "INFO")


class LoggingSetup:
    """Installs the log handler the moment `logging` is first imported, by the handler or a library
    it uses: importing it up front would cost every cold start, also of handlers that never log."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is None:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            install_log_handler(module)
        spec.loader.exec_module = exec_module
        return spec


class LambdaContext:
    # the instance's own settings, read from the environment once (each read decodes it again)
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
    log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def __init__(self, request_id, deadline_ms, arn, client_context):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.client_context = json_loads(client_context) if client_context else None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


class LambdaInitError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


# the one command to run when a handler imports the SDK Lambda's runtime includes and this host lacks it
SDK_HINT = " (boto3, which Lambda's runtime includes, is not installed on this host: run `npm run functions:install` there)"


def load_handler():
    name = os.environ.get("_HANDLER", "")
    module_name, _, func_name = name.rpartition(".")
    if not module_name or not func_name:
        raise LambdaInitError("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)")
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    dotted = module_name.replace("/", ".")
    try:
        __import__(dotted)
        module = sys.modules[dotted]
    except Exception as exc:
        hint = SDK_HINT if isinstance(exc, ModuleNotFoundError) and exc.name in ("boto3", "botocore") else ""
        raise LambdaInitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}{hint}") from exc
    fn = getattr(module, func_name, None)
    if fn is None:
        raise LambdaInitError("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return fn


def main():
    global current_request_id
    sys.meta_path.insert(0, LoggingSetup())
    # connected before the handler loads: the Runtime API checks who connects (a read of the host's
    # connection table) while the handler is imported, not after
    api.connect()
    try:
        handler = load_handler()
    except LambdaInitError as exc:
        doc = {"errorMessage": str(exc), "errorType": exc.error_type, "requestId": "", "stackTrace": []}
        log_error(doc)
        post_error("/init/error", doc)
        sys.exit(1)
    # the next event is asked for with each response, in the same write: the Runtime API answers
    # both in one write when that event comes (runtime-api.ts), one wake-up per invocation each side
    asked = False
    while True:
        _, h, body = api.read() if asked else api.request("GET", "/invocation/next")
        asked = False
        request_id = h["lambda-runtime-aws-request-id"]
        current_request_id = request_id
        # the X-Ray SDK reads the invocation's trace header from the environment
        trace_id = h.get("lambda-runtime-trace-id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(request_id, int(h["lambda-runtime-deadline-ms"]),
                                h.get("lambda-runtime-invoked-function-arn"), h.get("lambda-runtime-client-context"))
        try:
            event = json_loads(body) if body else None
            result = handler(event, context)
        except Exception as exc:
            fail(request_id, error_doc(exc, request_id))
            continue
        try:
            out = json_dumps(result).encode()
        except (TypeError, ValueError) as exc:
            fail(request_id, {"errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError",
                              "requestId": request_id, "stackTrace": []})
            continue
        api.pipelined(api.message("POST", f"/invocation/{request_id}/response", out, {"Content-Type": "application/json"}),
                      api.message("GET", "/invocation/next"))
        asked = True


def fail(request_id, doc):
    log_error(doc)
    post_error(f"/invocation/{request_id}/error", doc)


main()
