#!/usr/bin/python3
"""A local stand-in for the Telegram Bot API, for trying alerts without the internet.

It answers `sendMessage` (and `getMe`) the way api.telegram.org does, refuses what Telegram
refuses (a bad token when --token is given, HTML that Telegram cannot parse, text over 4096
characters, an empty text), prints every message it accepts, and appends it as one JSON line
to --record. Point Alertmanager at it with TELEGRAM_API_URL=http://127.0.0.1:PORT.

    /usr/bin/python3 scripts/telegram-fake.py --listen 127.0.0.1:8081 --record /tmp/telegram.jsonl

Standard library only.
"""

import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
MAX_LENGTH = 4096


class ParseError(Exception):
    pass


def entity_length(text, i):
    """Length of the entity Telegram decodes at text[i] ('&'), or 0 if it is literal."""
    j = i + 1
    if j < len(text) and text[j] == "#":
        j += 1
        digits = "0123456789abcdefABCDEF" if j < len(text) and text[j] == "x" else "0123456789"
        if j < len(text) and text[j] == "x":
            j += 1
        start = j
        while j < len(text) and text[j] in digits:
            j += 1
        if j == start:
            return 0
    else:
        start = j
        while j < len(text) and text[j].isalpha():
            j += 1
        if text[start:j] not in NAMED_ENTITIES:
            return 0
    if j < len(text) and text[j] == ";":
        j += 1
    return j - i


def visible_length(text, parse_mode):
    """Characters after entity parsing, in UTF-16 code units as Telegram counts them.
    Raises ParseError where Telegram answers "can't parse entities"."""
    units = lambda ch: 2 if ord(ch) > 0xFFFF else 1
    if parse_mode.upper() != "HTML":
        return sum(units(ch) for ch in text)
    count, i, open_tags = 0, 0, []
    while i < len(text):
        ch = text[i]
        if ch == "<":
            end = text.find(">", i)
            if end < 0:
                raise ParseError(f"Unclosed start tag at byte offset {i}")
            body = text[i + 1:end].strip()
            if body.startswith("/"):
                name = body[1:].strip().lower()
                if not open_tags or open_tags[-1] != name:
                    raise ParseError(f'Unmatched end tag at byte offset {i}, expected "</{open_tags[-1] if open_tags else ""}>", found "</{name}>"')
                open_tags.pop()
            else:
                name = body.split()[0].lower() if body else ""
                if name not in ALLOWED_TAGS:
                    raise ParseError(f'Unsupported start tag "{name}" at byte offset {i}')
                open_tags.append(name)
            i = end + 1
        elif ch == ">":
            # Telegram takes a bare '>' literally, but Bot API docs ask for &gt;.
            count += 1
            i += 1
        elif ch == "&":
            n = entity_length(text, i)
            count += 1
            i += n if n else 1
        else:
            count += units(ch)
            i += 1
    if open_tags:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return count


class Handler(BaseHTTPRequestHandler):
    server_version = "telegram-fake/1"

    def log_message(self, *args):  # quiet: messages are printed below
        pass

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, status, description):
        self.reply(status, {"ok": False, "error_code": status, "description": description})

    def params(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        kind = self.headers.get("Content-Type", "")
        if "json" in kind and raw:
            query.update(json.loads(raw))
        elif raw:
            query.update(urllib.parse.parse_qsl(raw.decode()))
        return query

    def do_GET(self):
        self.handle_call()

    def do_POST(self):
        self.handle_call()

    def handle_call(self):
        path = urllib.parse.urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return self.fail(404, "Not Found")
        token, method = parts[0][3:], parts[1]
        if self.server.token and token != self.server.token:
            return self.fail(401, "Unauthorized")
        params = self.params()
        if method == "getMe":
            return self.reply(200, {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "peeper-fake", "username": "peeper_fake_bot"}})
        if method != "sendMessage":
            return self.fail(404, "Not Found: method not found")
        text = str(params.get("text", ""))
        parse_mode = str(params.get("parse_mode", ""))
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return self.fail(400, "Bad Request: chat_id is empty")
        if not text.strip():
            return self.fail(400, "Bad Request: message text is empty")
        try:
            length = visible_length(text, parse_mode)
        except ParseError as e:
            return self.fail(400, f"Bad Request: can't parse entities: {e}")
        if length > MAX_LENGTH:
            return self.fail(400, "Bad Request: message is too long")
        with self.server.lock:
            self.server.next_id += 1
            message_id = self.server.next_id
            record = {"message_id": message_id, "chat_id": str(chat_id), "text": text,
                      "parse_mode": parse_mode, "length": length, "time": time.time()}
            if self.server.record:
                with open(self.server.record, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"--- message {message_id} to chat {chat_id} ({length} chars)\n{text}", flush=True)
        chat = {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0, "type": "group", "title": "peeper"}
        self.reply(200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": text}})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8081", help="HOST:PORT (default 127.0.0.1:8081)")
    parser.add_argument("--record", help="append every accepted message to this file as JSON lines")
    parser.add_argument("--token", help="refuse any other bot token with 401, as Telegram does")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    server.record, server.token, server.next_id, server.lock = args.record, args.token, 0, threading.Lock()
    print(f"telegram-fake listening on http://{args.listen}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
