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


def json_dumps(value):
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    encode = _json.make_encoder({}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)
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

    def request(self, method, path, body=b"", headers=None):
        if self.sock is None:
            self.connect()
        lines = [f"{method} {BASE}{path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        return status, fields, self._read_exact(int(fields.get("content-length", "0")))


api = RuntimeApi()


def error_doc(exc, error_type=None):
    import traceback
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def post_error(path, doc):
    api.request("POST", path, json_dumps(doc).encode(), {
        "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": doc["errorType"]})


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, client_context):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
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
    # connected before the handler loads: the Runtime API checks who connects (a read of the host's
    # connection table) while the handler is imported, not after
    api.connect()
    try:
        handler = load_handler()
    except LambdaInitError as exc:
        doc = error_doc(exc, exc.error_type)
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
        post_error("/init/error", doc)
        sys.exit(1)
    while True:
        _, h, body = api.request("GET", "/invocation/next")
        request_id = h["lambda-runtime-aws-request-id"]
        context = LambdaContext(request_id, int(h["lambda-runtime-deadline-ms"]),
                                h.get("lambda-runtime-invoked-function-arn"), h.get("lambda-runtime-client-context"))
        try:
            event = json_loads(body) if body else None
            result = handler(event, context)
            out = json_dumps(result).encode()
        except Exception as exc:
            doc = error_doc(exc)
            doc["requestId"] = request_id
            print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
            post_error(f"/invocation/{request_id}/error", doc)
            continue
        api.request("POST", f"/invocation/{request_id}/response", out, {"Content-Type": "application/json"})


main()
