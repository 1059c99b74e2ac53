# The handler: gets the event JSON as $1, prints the response JSON. A non-zero exit is an error.
handler() {
  local event="$1"
  echo "received: $event" >&2
  if [[ "$event" == *'"fail"'* ]]; then
    echo "asked to fail"
    return 1
  fi
  echo "{\"length\": ${#event}, \"kernel\": \"$(uname -s)\"}"
}
