"""An unmodified Lambda handler: counts the words of each S3-style record's text."""
import collections
import json


def handler(event, context):
    counts = collections.Counter()
    for record in event.get("Records", []):
        counts.update(record["body"].lower().split())
    print(json.dumps({"records": len(event.get("Records", [])), "request": context.aws_request_id}))
    return {"top": counts.most_common(3), "total": sum(counts.values())}
