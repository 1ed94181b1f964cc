"""Integration harness: real redis-server, real zebrasrv (deploy/catalogue/
serve.sh), real onloand, on free loopback ports, in a temporary directory.

Everything started here is registered in Stack.procs and stopped by
Stack.close(), which the runner calls in a finally block (and on SIGINT /
SIGTERM).  Nothing is ever killed by name.
"""

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REDIS_CONF = os.path.join(REPO, "deploy", "redis", "onloan.conf")


class HarnessError(Exception):
    pass


# What the ASan/UBSan build prints when it finds something (stderr, which
# every process started here has in its log).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_env():
    """The environment for onloand and onloan: sanitizer reports that
    cannot be missed (a leak is exit status 23)."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=23")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (32768 by default)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_handed_out = set()
_port_random = random.Random()     # its own: a test's seeded sequence stays the test's


def free_port():
    """A loopback port free now, for a server started later: below the
    kernel's ephemeral range, from which bind(0) and every outgoing
    connection of the suite take theirs (one such connection once took a
    daemon's port before it listened: "Address already in use" in CI), and
    never the same one twice in a run."""
    for _ in range(1000):
        port = _port_random.randrange(10000, _EPHEMERAL_LOW)
        if port in _handed_out:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _handed_out.add(port)
        return port
    raise HarnessError("no free loopback port in 10000..%d" % (_EPHEMERAL_LOW - 1))


def wait_port(port, timeout, proc=None, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise HarnessError("%s exited with %s before listening on %d"
                               % (what, proc.p.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise HarnessError("%s not listening on %d after %.1fs" % (what, port, timeout))


# ------------------------------------------------------------------ Redis

class RespError(Exception):
    pass


class Redis:
    """A minimal blocking RESP2 client (stdlib only)."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_line(self, timeout):
        """The next line the server sends (without its CRLF), for what it
        sends unasked (MONITOR: one simple string a line), or None when no
        whole line comes within timeout seconds; a part of one stays
        buffered for the next call. The connection's own timeout is kept."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while b"\r\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return None
                if not chunk:
                    raise ConnectionError("redis closed the connection")
                self.buf += chunk
        finally:
            self.sock.settimeout(old)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(max(65536, n + 2 - len(self.buf)))
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RespError("bad reply %r" % line)

    def next_reply(self):
        """The next reply the server sends unasked (after SUBSCRIBE: one
        ["message", channel, payload] a message), within the connection's
        timeout (socket.timeout otherwise)."""
        return self._reply()

    def keys(self, pattern="*"):
        """Every key matching pattern, sorted (SCAN, never KEYS)."""
        out, cursor = [], b"0"
        while True:
            cursor, ks = self("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            out.extend(ks)
            if cursor == b"0":
                return sorted(out)

    def __call__(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._reply()


# ------------------------------------------------------------------ HTTP

class Response:
    def __init__(self, status, body, headers, elapsed):
        self.status = status
        self.body = body
        self.headers = headers
        self.elapsed = elapsed
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:2000].decode("utf-8", "replace"))


def http_request(port, method, path, body=None, timeout=10.0, headers=None):
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        return Response(r.status, data, dict(r.getheaders()), time.monotonic() - t0)
    finally:
        c.close()


class DelayProxy:
    """A loopback TCP proxy to upstream_port that holds every chunk the
    server sends for `delay` seconds before passing it on (what the client
    sends goes at once). It logs, in order, ("ask", conn, t, data) for each
    chunk a client sent and ("answer", conn, t, None) for each one passed
    back, conn numbering the client connections from 0. close() stops it."""

    def __init__(self, upstream_port, delay):
        self.upstream_port = upstream_port
        self.delay = delay
        self.events = []
        self._lock = threading.Lock()
        self._socks = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _log(self, what, conn, data=None):
        with self._lock:
            self.events.append((what, conn, time.monotonic(), data))

    def _accept(self):
        conn = 0
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                return
            self._socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, conn, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, conn, True),
                             daemon=True).start()
            conn += 1

    def _pump(self, src, dst, conn, held):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if held:
                    time.sleep(self.delay)
                    self._log("answer", conn)
                else:
                    self._log("ask", conn, data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def settled(self):
        """Something was asked, and every ask has been answered."""
        with self._lock:
            out = set()
            for what, conn, _, _ in self.events:
                (out.add if what == "ask" else out.discard)(conn)
            return bool(self.events) and not out

    def asked(self, needle):
        """Whether a client has sent needle (bytes) in one chunk."""
        with self._lock:
            return any(e[0] == "ask" and needle in e[3] for e in self.events)

    def forget(self):
        """Starts a new log."""
        with self._lock:
            self.events = []

    def most_asks_out(self):
        """The most connections that had asked and not yet been answered,
        at any one time."""
        out, most = set(), 0
        with self._lock:
            for what, conn, _, _ in self.events:
                if what == "ask":
                    out.add(conn)
                    most = max(most, len(out))
                else:
                    out.discard(conn)
        return most

    def close(self):
        """Stops it; its connections end at once (shutdown wakes the pump
        threads, so both sides see them end)."""
        self._closed = True
        for s in [self._listener] + self._socks:
            for end in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
                try:
                    end()
                except OSError:
                    pass


# ------------------------------------------------------------------ processes

class Proc:
    def __init__(self, name, argv, logpath, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.logpath = logpath
        self.log = open(logpath, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, cwd=cwd, env=env,
                                  start_new_session=True)
        self.stopped = False    # SIGSTOP'd

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def sigstop(self):
        """SIGSTOP, and waits (up to 2 s) until every thread has stopped:
        the signal is only sent by kill(), and a zebrasrv thread could
        still answer the next request (seen in test_40)."""
        os.kill(self.p.pid, signal.SIGSTOP)
        self.stopped = True
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self._all_threads_stopped():
            time.sleep(0.001)

    def _all_threads_stopped(self):
        try:
            tasks = os.listdir("/proc/%d/task" % self.p.pid)
            states = [open("/proc/%d/task/%s/stat" % (self.p.pid, t)).read().rsplit(")", 1)[1].split()[0]
                      for t in tasks]
        except OSError:
            return True     # not Linux, or gone: nothing to wait for
        return all(st in ("T", "t") for st in states)

    def sigcont(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGCONT)
        self.stopped = False

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Stop this one process (by its pid); returns its exit status."""
        if self.p.poll() is None:
            if self.stopped:
                self.sigcont()
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()
        return self.p.returncode

    def output(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Stack:
    """One test environment for one build directory."""

    def __init__(self, build, catdir, shared=None, keep=False, verbose=False):
        self.build = os.path.abspath(build)
        self.catdir = os.path.abspath(catdir)
        self.shared = shared
        self.keep = keep
        self.verbose = verbose
        self.tmp = tempfile.mkdtemp(prefix="onloan-it-")
        self.procs = []
        self.redis_proc = None
        self.redis_port = None
        self.zebra = {}            # role -> (Proc, port)
        self.daemon = None
        self.port = None
        self.config = None
        self.config_path = None
        self.daemon_logs = []      # every onloand log of this stack (for sanitizer checks)
        self.loaded = None         # loader summary

    # ---------------- processes of the stack's own
    def spawn_redis(self, name, port, datadir):
        """A redis-server of deploy/redis/onloan.conf (its append-only file,
        noeviction, onloand's ACL user) on 127.0.0.1:port, keeping its data
        in datadir, logging to <name>.log; returns its Proc once it listens.
        Stopped by close()."""
        os.makedirs(datadir, exist_ok=True)
        p = Proc(name, ["redis-server", REDIS_CONF, "--port", str(port), "--bind", "127.0.0.1",
                        "--save", "", "--dir", datadir, "--dbfilename", "dump.rdb"],
                 os.path.join(self.tmp, name + ".log"))
        self.procs.append(p)
        wait_port(port, 10, p, name)
        # a restarted Redis listens while it still loads its append-only
        # file, answering LOADING to data commands (not to INFO or ACL)
        # until it is done: wait for that
        deadline = time.monotonic() + 10
        with Redis(port) as r:
            while b"loading:1" in r("INFO", "persistence"):
                if time.monotonic() > deadline:
                    raise HarnessError("%s still loading its data after 10 s" % name)
                time.sleep(0.02)
            # deploy/redis/onloan.conf's user, onloand's, for any test's prefix
            r("ACL", "SETUSER", "onloan", "~*", "&*")
        return p

    def spawn_onloand(self, name, config_path, port, logname, wait=15.0, env=None, binary=None):
        """An onloand (binary: the build's) on config_path, listening on
        port, logging to logname (which the shutdown test searches for
        sanitizer reports), with env added to its environment; returns its
        Proc once /healthz answers 200. Stopped by close()."""
        logpath = os.path.join(self.tmp, logname)
        self.daemon_logs.append(logpath)
        p = Proc(name, [binary or os.path.join(self.build, "onloand"), "-c", config_path], logpath,
                 env=dict(sanitizer_env(), **(env or {})))
        self.procs.append(p)
        deadline = time.monotonic() + wait
        last = None
        while time.monotonic() < deadline:
            if not p.alive():
                raise HarnessError("%s exited %s at start: %s"
                                   % (name, p.p.returncode, p.output()[-3000:]))
            try:
                r = http_request(port, "GET", "/healthz", timeout=1.0)
                if r.status == 200:
                    return p
                last = r
            except OSError as e:
                last = e
            time.sleep(0.03)
        raise HarnessError("%s /healthz not ready after %.0fs (last: %r); log: %s"
                           % (name, wait, last, p.output()[-3000:]))

    # ---------------- redis
    def start_redis(self, port=None):
        port = port or free_port()
        p = self.spawn_redis("redis", port, os.path.join(self.tmp, "redis"))
        self.redis_proc, self.redis_port = p, port
        return p

    def redis(self):
        return Redis(self.redis_port)

    def stop_redis(self, save=True):
        """Stop Redis; with save, write dump.rdb first so that
        start_redis(same port) brings the data back."""
        if save:
            with self.redis() as r:
                r("SAVE")
        self.redis_proc.stop()

    # ---------------- zebra
    def start_zebra(self, role, port=None):
        port = port or free_port()
        serve = os.path.join(REPO, "deploy", "catalogue", "serve.sh")
        p = Proc("zebra-" + role, ["sh", serve, self.catdir, str(port)],
                 os.path.join(self.tmp, "zebra-%s.log" % role))
        self.procs.append(p)
        wait_port(port, 10, p, "zebrasrv " + role)
        self.zebra[role] = (p, port)
        return p

    def zebra_proc(self, role):
        return self.zebra[role][0]

    # ---------------- config
    def make_config(self, overrides=None):
        with open(os.path.join(REPO, "config", "onloan.json")) as f:
            cfg = json.load(f)
        template = dict(cfg["catalogues"][0])
        for k in ("name", "target", "protocol", "holdings", "id_field", "link"):
            template.pop(k, None)
        self.port = self.port or free_port()
        cfg["listen"] = "127.0.0.1:%d" % self.port
        cfg["plugin_dir"] = os.path.join(self.build, "plugins")
        cfg["request_timeout_ms"] = REQUEST_TIMEOUT_MS
        cfg["redis"]["address"] = "127.0.0.1:%d" % self.redis_port
        # The example's experiment would give half the answers its control
        # arm: the tests of experiments set up their own.
        cfg.pop("experiments", None)
        koha_link = {"plugin": "koha", "base_url": "https://opac.example.org"}
        jazz_link = {"plugin": "template",
                     "reserve": "https://catalogue.example.edu/hold?id={record}",
                     "record": "https://catalogue.example.edu/record/{record}"}

        def cat(name, role, db, protocol, holdings, id_field, link):
            c = dict(template)
            c.update({"name": name, "target": "127.0.0.1:%d/%s" % (self.zebra[role][1], db),
                      "protocol": protocol, "holdings": holdings,
                      "id_field": id_field, "link": link,
                      "timeout_ms": CATALOGUE_TIMEOUT_MS})
            return c

        cfg["catalogues"] = [
            cat("demo", "main", "demo", "z3950", "koha952", "001", koha_link),
            cat("demo-sru", "main", "demo", "sru", "koha952", "001", koha_link),
            cat("koha", "main", "koha", "z3950", "koha952", "999$c", koha_link),
            cat("jazz", "main", "jazz", "z3950", "sirsi949", "001", jazz_link),
            # on their own zebrasrv, which the failure tests kill and stop
            cat("victim", "victim", "demo", "z3950", "koha952", "001", koha_link),
            cat("victim-sru", "victim", "demo", "sru", "koha952", "001", koha_link),
        ]
        if overrides:
            overrides(cfg)
        return cfg

    def write_config(self, cfg, name="onloan.json", mode=0o600):
        """cfg as JSON in the stack's directory, mode 0600: a config that
        holds secrets others can read is refused (config.h)."""
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f, indent=2, ensure_ascii=False)
        return path

    # ---------------- loader
    def load(self, loans_csv, config_path=None):
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(self.build, "onloan"), "-c",
                            config_path or self.config_path, "load", loans_csv],
                           capture_output=True, timeout=240)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 0:
            raise HarnessError("onloan load exited %d: %s" % (r.returncode, out[-2000:]))
        return out, time.monotonic() - t0

    # ---------------- daemon
    def start_daemon(self, wait=15.0):
        self.daemon = self.spawn_onloand("onloand", self.config_path, self.port,
                                         "onloand-%d.log" % len(self.daemon_logs), wait)
        return self.daemon

    def stop_daemon(self):
        if self.daemon is None:
            return None
        rc = self.daemon.stop(timeout=10)
        self.daemon = None
        return rc

    def restart_daemon(self):
        rc = self.stop_daemon()
        self.start_daemon()
        return rc

    # ---------------- requests
    def get(self, path, timeout=10.0):
        return http_request(self.port, "GET", path, timeout=timeout)

    def alt(self, record, branch="CEN", limit=5, lang="en", channel="opac",
            catalogue=None, timeout=10.0, extra="", headers=None):
        from urllib.parse import quote
        q = "/v1/alternatives?record=%s&branch=%s&limit=%s&lang=%s&channel=%s" % (
            quote(record, safe=""), branch, limit, lang, channel)
        if catalogue:
            q += "&catalogue=" + quote(catalogue, safe="")
        return http_request(self.port, "GET", q + extra, timeout=timeout, headers=headers)

    def post(self, path, body, timeout=10.0):
        return http_request(self.port, "POST", path, body=body, timeout=timeout)

    # ---------------- teardown
    def close(self):
        for p in reversed(self.procs):
            try:
                p.stop(timeout=5)
            except Exception:
                pass
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def zebra_register(catdir, out, databases):
    """A Zebra register in out with databases {name: [ISO 2709 records]},
    built as deploy/catalogue/build.sh builds the demo one (its index
    definitions from catdir, the generated catalogue)."""
    os.makedirs(out)
    for d in ("register", "shadow", "lock", "tmp"):
        os.makedirs(os.path.join(out, d))
    shutil.copytree(os.path.join(catdir, "conf"), os.path.join(out, "conf"))
    with open(os.path.join(REPO, "deploy", "zebra", "zebra.cfg.in")) as f:
        cfg = f.read().replace("@OUT@", out)
    for db in databases:
        cfg += "\n%s.database: %s\n%s.recordType: grs.marc.onloan\n" % (db, db, db)
    with open(os.path.join(out, "zebra.cfg"), "w") as f:
        f.write(cfg)
    for db, recs in databases.items():
        path = os.path.join(out, db + ".mrc")
        with open(path, "wb") as f:
            f.write(b"".join(recs))
        r = subprocess.run(["zebraidx", "-c", "zebra.cfg", "-n", "-g", db, "-d", db, "update",
                            path], cwd=out, capture_output=True, timeout=60)
        log = (r.stdout + r.stderr).decode("utf-8", "replace")
        got = re.findall(r"Records: (\d+) i/u/d", log)
        assert r.returncode == 0 and got and int(got[-1]) == len(recs), \
            "zebraidx %s: %s" % (db, log[-2000:])


def zebra_serve(stack, out, name):
    """zebrasrv (deploy/catalogue/serve.sh) on the register in out, stopped
    with the stack; returns (its Proc, its port)."""
    port = free_port()
    p = Proc("zebra-" + name, ["sh", os.path.join(REPO, "deploy", "catalogue", "serve.sh"), out,
                               str(port)], os.path.join(stack.tmp, "zebra-%s.log" % name))
    stack.procs.append(p)
    wait_port(port, 10, p, "zebrasrv (%s)" % name)
    return p, port


REQUEST_TIMEOUT_MS = 1500      # request_timeout_ms in the test config
# The demo config's API key of role personalise: patron= needs it.
OPAC_KEY = "demo-opac-key-change-me"
OPAC_AUTH = {"Authorization": "Bearer " + OPAC_KEY}
CATALOGUE_TIMEOUT_MS = 1000    # each catalogue's timeout_ms


TPD_FIELDS = ("record", "alternatives", "catalogue", "day", "cell")


TOUCHPOINT_BATCH_PLACES = 64


def tpd_key(prefix, tp):
    """Where touchpoint tp is kept: (<prefix>tpd:<its batch>, its place in
    the batch). Its id "<ms>-<n>" names both: the batch is "<ms>-<n with
    its low 6 bits 0>", the place those bits."""
    ms, n = tp.split("-")
    n = int(n)
    return "%stpd:%s-%d" % (prefix, ms, n & ~(TOUCHPOINT_BATCH_PLACES - 1)), \
        str(n & (TOUCHPOINT_BATCH_PLACES - 1))


def tpd(r, prefix, tp):
    """Touchpoint tp as its batch's tpd: keeps it ({field: value}), or
    None."""
    v = r("HGET", *tpd_key(prefix, tp))
    if v is None:
        return None
    parts = v.decode().split(" ")
    assert len(parts) == len(TPD_FIELDS), "tpd: value %r of %s" % (v, tp)
    return dict(zip(TPD_FIELDS, parts))


def touchpoint_fields(r, prefix, tp, timeout=5.0):
    """What Redis logged of touchpoint tp as {field: value}: its entry in
    <prefix>tp, found from the newest back, once its tpd: is there
    (onloand answers before its write is in Redis, the spool sends it, so
    this waits up to timeout for it). tpd: must hold the entry's
    TPD_FIELDS, and only those."""
    deadline = time.time() + timeout
    while True:
        kept = tpd(r, prefix, tp)
        if kept or time.time() > deadline:
            break
        time.sleep(0.02)
    assert kept, "touchpoint %s not in Redis (%s %s)" % ((tp,) + tpd_key(prefix, tp))
    top = "+"
    while True:
        page = r("XREVRANGE", prefix + "tp", top, "-", "COUNT", 1000)
        for sid, fv in page:
            entry = {fv[i].decode(): fv[i + 1].decode() for i in range(0, len(fv), 2)}
            if entry.get("touchpoint") == tp:
                want = {k: entry[k] for k in TPD_FIELDS if k in entry}
                assert kept == want, "tpd: of %s is %r, its tp entry has %r" % (tp, kept, want)
                return entry
        if len(page) < 1000:
            break
        top = "(" + page[-1][0].decode()
    raise AssertionError("touchpoint %s has tpd: but no entry in %stp" % (tp, prefix))
