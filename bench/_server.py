"""A minimal HTTP/1.1 server for the benchmark: reads each request body whole, answers a fixed body.

Run as ``python -m bench._server [read_tags] [read_points]``: it listens on 127.0.0.1 on a free port,
prints the port on its first line of output and serves until it is killed. One thread per connection,
keep-alive; the request body is drained into a reused buffer (no per-request allocation), so the
server costs the SDK and the floor the same.
"""

from __future__ import annotations

import socket
import sys
import threading

import orjson

OK = b'{"error":{"id":0,"message":""}}'
BASE_X = 1_600_000_000_000_000


def read_answer(tags: int, points: int) -> bytes:
    """The body of the ``/smt/data/get`` answer: ``tags`` tags of ``points`` points each."""
    data = [
        {
            "tagId": f"t{t}",
            "exceed": False,
            "data": [{"x": BASE_X + i * 1000, "y": i * 0.25 + t, "q": 0} for i in range(points)],
        }
        for t in range(tags)
    ]
    return orjson.dumps({"error": {"id": 0, "message": ""}, "data": data})


def _response(body: bytes) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    return head + body


def _serve(conn: socket.socket, answers: dict[bytes, bytes], default: bytes) -> None:
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    pending = b""
    try:
        while True:
            while b"\r\n\r\n" not in pending:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                pending += chunk
            head, _, pending = pending.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            remaining = length - len(pending)
            pending = b"" if remaining >= 0 else pending[length:]
            while remaining > 0:
                got = conn.recv_into(view, min(remaining, len(buffer)))
                if not got:
                    return
                remaining -= got
            conn.sendall(answers.get(path, default))
    except OSError:
        return
    finally:
        conn.close()


def main() -> None:
    """Serve until killed."""
    tags = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    points = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    answers = {b"/smt/data/get": _response(read_answer(tags, points))}
    default = _response(OK)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve, args=(conn, answers, default), daemon=True).start()


if __name__ == "__main__":
    main()
