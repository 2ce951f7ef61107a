# instant_api.py SOCKET: a stand-in Docker Engine API on a unix socket that answers what
# `docker exec C true` asks (ping, container inspect, exec create, exec start hijacked and ended at
# once, exec inspect) without doing anything, so that timing the client against it gives the
# client's own share of an exec: the floor under any engine's exec time with that client.
import socket, os, sys, json, threading
path = sys.argv[1]
try: os.unlink(path)
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(64)
inspect = json.dumps({"Id": "c"*64, "Name": "/x", "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False, "Pid": 1},
  "Config": {"Tty": False, "AttachStdout": True}, "HostConfig": {}}).encode()
def reply(c, status, body=b"", ctype="application/json", extra=""):
    c.sendall(("HTTP/1.1 %s\r\nContent-Type: %s\r\nApi-Version: 1.41\r\nOstype: linux\r\nContent-Length: %d\r\n%s\r\n" % (status, ctype, len(body), extra)).encode() + body)
def handle(c):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d: c.close(); return
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n"); method, target, _ = lines[0].split(" ")
        hdrs = {l.split(":",1)[0].lower(): l.split(":",1)[1].strip() for l in lines[1:]}
        n = int(hdrs.get("content-length", "0"))
        while len(buf) < n: buf += c.recv(65536)
        buf = buf[n:]
        if "/_ping" in target: reply(c, "200 OK", b"" if method == "HEAD" else b"OK", "text/plain")
        elif "/containers/create" in target: reply(c, "201 Created", json.dumps({"Id": "c"*64, "Warnings": []}).encode())
        elif target.endswith("/start") and "/containers/" in target: reply(c, "204 No Content")
        elif target.endswith("/exec") and method == "POST": reply(c, "201 Created", json.dumps({"Id": "e"*64}).encode())
        elif "/exec/" in target and target.endswith("/start"):
            c.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            c.shutdown(socket.SHUT_RDWR); c.close(); return
        elif "/exec/" in target: reply(c, "200 OK", json.dumps({"ID": "e"*64, "Running": False, "ExitCode": 0, "ContainerID": "c"*64, "Pid": 2}).encode())
        elif "/containers/" in target: reply(c, "200 OK", inspect)
        else: reply(c, "404 Not Found", b'{"message":"no"}')
while True:
    c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
