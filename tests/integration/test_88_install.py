"""A locked-down service (issue 19, part 8): `make install` into a DESTDIR
puts the programs, the plugins where the installed onloand looks, the man
pages, the unit and the example config in place; the installed daemon, on
the installed config (pointed at this stack's Redis and Zebra, its secrets
as credentials), answers. systemd-analyze rates the unit 2.0 or better."""

import json
import os
import re
import shutil
import stat
import subprocess

import harness
from suite import expect_json, title_matches

REPO = harness.REPO
UNIT = os.path.join(REPO, "deploy", "systemd", "onloand.service")
MAX_EXPOSURE = 2.0
CREDENTIALS = ("patron_key", "token_key", "ingest_key", "forget_key", "report_key", "opac_key")


def _paths(build):
    """The build's compiled-in defaults (onloand -V): PREFIX and SYSCONFDIR
    it was built for, as make install must be given to install it as it is."""
    out = subprocess.run([os.path.join(build, "onloand"), "-V"], capture_output=True, timeout=30,
                         env=harness.sanitizer_env(), check=True).stdout.decode()
    got = dict(line.split(": ", 1) for line in out.splitlines())
    plugin_dir, config = got["plugin_dir"], got["config"]
    assert plugin_dir.endswith("/lib/onloan/plugins") and config.endswith("/onloan/onloan.json"), out
    return plugin_dir[:-len("/lib/onloan/plugins")], config[:-len("/onloan/onloan.json")], plugin_dir


def _make(args):
    # a make of its own: not the jobserver or flags of a `make test` above
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-s"] + args, cwd=REPO, capture_output=True, timeout=120, env=env)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def exposure(unit_path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", unit_path],
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out)
    assert m, "systemd-analyze security said no level (exit %d): %s" % (r.returncode, out[-2000:])
    return float(m.group(1)), out


def test_unit_rated_locked_down(ctx):
    level, out = exposure(UNIT)
    assert level <= MAX_EXPOSURE, "%s: exposure %.1f > %.1f:\n%s" % (UNIT, level, MAX_EXPOSURE,
                                                                    out[-4000:])
    with open(UNIT) as f:
        unit = f.read()
    for line in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                 "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
                 "LoadCredential=patron_key:", "LoadCredential=token_key:"):
        assert line in unit, "%s lacks %r" % (UNIT, line)
    assert re.search(r"^LimitNOFILE=\d+$", unit, re.M) and re.search(r"^MemoryMax=\S+$", unit, re.M)


def test_install_and_run_installed(ctx):
    st = ctx.stack
    prefix, sysconfdir, plugin_dir = _paths(st.build)
    dest = os.path.join(st.tmp, "destdir")
    shutil.rmtree(dest, ignore_errors=True)
    args = ["BUILD=" + os.path.relpath(st.build, REPO), "PREFIX=" + prefix,
            "SYSCONFDIR=" + sysconfdir, "DESTDIR=" + dest]
    # The build must be as make install finds it: installing never rebuilds
    # (a rebuild here would be without this build's flags, ASan's say).
    rc, out = _make(["-q"] + args + [os.path.join(os.path.relpath(st.build, REPO), p)
                                     for p in ("onloand", "onloan", "plugins/koha.so")])
    assert rc == 0, "%s is not up to date for make install (make it first): %s" % (st.build, out)
    rc, out = _make(args + ["install"])
    assert rc == 0, "make install exited %d: %s" % (rc, out[-3000:])

    def at(path):
        return dest + path
    etc = at(sysconfdir + "/onloan")
    onloand, onloan = at(prefix + "/bin/onloand"), at(prefix + "/bin/onloan")
    unit = at(prefix + "/lib/systemd/system/onloand.service")
    want = {onloand: 0o755, onloan: 0o755, at(plugin_dir + "/koha.so"): 0o644,
            at(plugin_dir + "/template.so"): 0o644, unit: 0o644,
            at(prefix + "/share/man/man8/onloand.8"): 0o644,
            at(prefix + "/share/man/man1/onloan.1"): 0o644,
            etc + "/onloan.json": 0o644, etc + "/credentials": 0o700}
    for path, mode in want.items():
        assert os.path.exists(path), "make install did not install %s: %s" % (path, out)
        got = stat.S_IMODE(os.stat(path).st_mode)
        assert got == mode, "%s: mode %o, want %o" % (path, got, mode)
    # the installed onloand looks for its plugins where they were put
    p, s, installed_plugins = _paths(os.path.dirname(onloand))
    assert installed_plugins == plugin_dir and os.path.isfile(at(installed_plugins + "/koha.so"))
    # the unit, with this install's paths, rated as the source's
    with open(unit) as f:
        text = f.read()
    assert "ExecStart=%s/bin/onloand -c %s/onloan/onloan.json\n" % (prefix, sysconfdir) in text, text
    level, rated = exposure(unit)
    assert level <= MAX_EXPOSURE, rated[-3000:]
    for page in ("man8/onloand.8", "man1/onloan.1"):
        r = subprocess.run(["man", "--warnings", "-l", at(prefix + "/share/man/" + page)],
                           capture_output=True, timeout=30, env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0 and b"NAME" in r.stdout and not r.stderr, (page, r.stderr[:2000])

    # The installed config, pointed at this stack: its Redis (a prefix of
    # its own) and its Zebra's Koha database; the plugins are under DESTDIR.
    config = etc + "/onloan.json"
    with open(config) as f:
        cfg = json.load(f)
    assert "demo" not in cfg and cfg["privacy"]["patron_key_file"] == "patron_key", cfg
    port = harness.free_port()
    cfg["listen"] = "127.0.0.1:%d" % port
    cfg["redis"]["address"] = "127.0.0.1:%d" % st.redis_port
    cfg["redis"]["prefix"] = "onloan-installed:"
    cfg["catalogues"][0]["target"] = "127.0.0.1:%d/koha" % st.zebra["main"][1]
    cfg["plugin_dir"] = at(plugin_dir)
    with open(config, "w") as f:
        json.dump(cfg, f, indent=2)
    # its secrets, as systemd's LoadCredential= leaves them
    creds = etc + "/credentials"
    for i, name in enumerate(CREDENTIALS):
        with open(os.open(os.path.join(creds, name), os.O_WRONLY | os.O_CREAT, 0o400), "w") as f:
            f.write("%02x" % (i + 1) * 32 + "\n")
    env = {"CREDENTIALS_DIRECTORY": creds}
    r = subprocess.run([onloand, "-t", "-c", config], capture_output=True, timeout=30,
                       env=dict(harness.sanitizer_env(), **env))
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0 and "configuration is fine" in out, "onloand -t: %d %s" % (r.returncode, out)
    assert "demo mode" not in out, out
    d = st.spawn_onloand("onloand-installed", config, port, "onloand-installed.log", env=env,
                         binary=onloand)
    try:
        rid = next(r for r, rec in sorted(ctx.cat.koha.items()) if rec.get("title_a"))
        resp = harness.http_request(port, "GET", "/v1/alternatives?record=%s&limit=3" % rid)
        j = expect_json(resp, 200)
        assert j["record"] == rid and j["catalogue"] == "main", j
        assert title_matches(j.get("title"), ctx.cat.koha[rid]), (j.get("title"), ctx.cat.koha[rid])
        assert j["reserve_url"].startswith("https://opac.example.org/"), j
        # the installed CLI, on the same config
        r = subprocess.run([onloan, "-c", config, "stats"], capture_output=True, timeout=60,
                           env=dict(harness.sanitizer_env(), **env))
        assert r.returncode == 0 and not r.stderr, r
    finally:
        rc = d.stop(timeout=10)
    assert rc == 0, "installed onloand exited %r: %s" % (rc, d.output()[-2000:])
    with st.redis() as rd:
        for k in rd.keys("onloan-installed:*"):
            rd("DEL", k)

    # installed again: the config there is kept
    rc, out = _make(args + ["install"])
    assert rc == 0 and "onloan.json is there: kept" in out, out
    with open(config) as f:
        assert json.load(f)["listen"] == "127.0.0.1:%d" % port
