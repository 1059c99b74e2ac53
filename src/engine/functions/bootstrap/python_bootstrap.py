# The project's Python runtime: imports the handler named by _HANDLER ("module.function") from
# LAMBDA_TASK_ROOT and serves invocations from the Lambda Runtime API, one at a time.
# Standard library only: it runs as the function's own user with only the function's files around it.
import http.client
import importlib
import json
import os
import sys
import time
import traceback

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
BASE = "/2018-06-01/runtime"
conn = http.client.HTTPConnection(HOST, int(PORT))


def request(method, path, body=None, headers=None):
    global conn
    for attempt in (1, 2):
        try:
            conn.request(method, BASE + path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.getheaders(), res.read()
        except (http.client.HTTPException, ConnectionError):
            if attempt == 2:
                raise
            conn.close()
            conn = http.client.HTTPConnection(HOST, int(PORT))


def error_doc(exc, error_type=None):
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def post_error(path, doc):
    request("POST", path, json.dumps(doc).encode(), {
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
        self.client_context = json.loads(client_context) if client_context else None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def load_handler():
    name = os.environ.get("_HANDLER", "")
    module_name, _, func_name = name.rpartition(".")
    if not module_name or not func_name:
        raise LambdaInitError("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)")
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        raise LambdaInitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    fn = getattr(module, func_name, None)
    if fn is None:
        raise LambdaInitError("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return fn


class LambdaInitError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def main():
    try:
        handler = load_handler()
    except LambdaInitError as exc:
        doc = error_doc(exc, exc.error_type)
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
        post_error("/init/error", doc)
        sys.exit(1)
    while True:
        status, headers, body = request("GET", "/invocation/next")
        h = {k.lower(): v for k, v in headers}
        request_id = h["lambda-runtime-aws-request-id"]
        context = LambdaContext(request_id, int(h["lambda-runtime-deadline-ms"]),
                                h.get("lambda-runtime-invoked-function-arn"), h.get("lambda-runtime-client-context"))
        try:
            event = json.loads(body) if body else None
            result = handler(event, context)
            out = json.dumps(result).encode()
        except Exception as exc:
            doc = error_doc(exc)
            doc["requestId"] = request_id
            print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
            post_error(f"/invocation/{request_id}/error", doc)
            continue
        request("POST", f"/invocation/{request_id}/response", out, {"Content-Type": "application/json"})


main()
