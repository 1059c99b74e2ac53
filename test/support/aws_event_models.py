"""Validates events against AWS Lambda Powertools' parser models (AWS's event shapes, implemented
independently of this project). Reads {"model": "<name in aws_lambda_powertools.utilities.parser.models>",
"event": {...}} on stdin; prints {"error": <validation error text or null>, "missing": [paths]}:
"missing" lists every field the model declares that the event leaves out (lists as [], map values
as *), so a test can say which absences are expected rather than only that validation passed."""
import copy
import json
import sys
import typing

from pydantic import BaseModel, ValidationError
from aws_lambda_powertools.utilities.parser import models


def submodels(annotation):
    """The pydantic models an annotation can hold, with how they nest: ('', M), ('[]', M), ('*', M)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin in (list, typing.List) or str(origin) == "<class 'collections.abc.Sequence'>":
        return [("[]" + nest, m) for arg in args for nest, m in submodels(arg)]
    if origin in (dict, typing.Dict) and len(args) == 2:
        return [("*" + nest, m) for nest, m in submodels(args[1])]
    return [pair for arg in args for pair in submodels(arg)]


def missing(model, value, path, out):
    if not isinstance(value, dict):
        return
    for name, field in model.model_fields.items():
        key = field.alias or name
        where = f"{path}.{key}" if path else key
        if key not in value:
            out.add(where)
            continue
        for nest, sub in submodels(field.annotation):
            walk(sub, nest, value[key], where, out)


def walk(model, nest, value, path, out):
    if nest == "":
        missing(model, value, path, out)
    elif nest.startswith("[]") and isinstance(value, list):
        for item in value:
            walk(model, nest[2:], item, f"{path}[]", out)
    elif nest.startswith("*") and isinstance(value, dict):
        for item in value.values():
            walk(model, nest[1:], item, f"{path}.*", out)


request = json.load(sys.stdin)
model = getattr(models, request["model"])
# what the event itself leaves out, before validation (some models' validators rewrite their input)
found = set()
missing(model, request["event"], "", found)
try:
    model.model_validate(copy.deepcopy(request["event"]))
    error = None
except ValidationError as e:
    error = str(e)
print(json.dumps({"error": error, "missing": sorted(found)}))
