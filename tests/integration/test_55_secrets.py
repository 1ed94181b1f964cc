"""Secrets and plugins (issue 19, part 6): `onloand -t` and onloand's start
refuse a config whose secrets others can read, the published example keys
without "demo": true, short API keys; secrets come from files (systemd
credentials); plugins only from a directory that only root and onloand's
user can change. The CLI warns where onloand refuses."""

import copy
import os
import shutil
import subprocess

import harness
from suite import expect_json

KEY_FILE_KEY = "file-key-0123456789abcdef0123456789"      # 35 characters
PATRON_HEX = "5a" * 32
TOKEN_HEX = "a5" * 32


def _run(ctx, prog, path, *args, env=None):
    r = subprocess.run([os.path.join(ctx.stack.build, prog), "-c", path] + list(args),
                       capture_output=True, timeout=60,
                       env=dict(harness.sanitizer_env(), **(env or {})))
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def _own_keys(cfg):
    """cfg without the published example keys and without demo."""
    cfg.pop("demo", None)
    # the test Redis's default user needs no password; onloan's ACL user has
    # the published demo one
    cfg["redis"].pop("username", None)
    cfg["redis"].pop("password", None)
    cfg["privacy"]["patron_key"] = PATRON_HEX
    cfg["touchpoints"]["token_key"] = TOKEN_HEX
    cfg["api_keys"] = [{"name": "ils", "key": "ils-key-0123456789abcdef0123456789", "roles": ["ingest"]}]
    return cfg


def test_readable_secrets_refused_by_check_and_start(ctx):
    st = ctx.stack
    cfg = _own_keys(copy.deepcopy(st.config))
    cfg["listen"] = "127.0.0.1:%d" % harness.free_port()
    path = st.write_config(cfg, "readable.json", mode=0o644)
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 1, "onloand -t of a 0644 config with secrets: exit %d: %s%s" % (rc, out, err)
    for key, name in (("privacy.patron_key", "patron_key_file"),
                      ("touchpoints.token_key", "token_key_file"), ("api_keys[0].key", "key_file")):
        want = ("%s: %s: a secret in a config file that its group or others can read (mode 0644): "
                "chmod go= %s, or give it as %s" % (path, key, path, name))
        assert want in err, "no %r in: %s" % (want, err)
    assert "check failed: secrets that others can read" in err, err
    # the daemon itself: does not start
    r = subprocess.run([os.path.join(st.build, "onloand"), "-c", path], capture_output=True,
                       timeout=30, env=harness.sanitizer_env())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 1 and "not started: secrets that others can read" in err, \
        "onloand started on a 0644 config: exit %d: %s" % (r.returncode, err)
    # the CLI warns and goes on
    rc, out, err = _run(ctx, "onloan", path, "stats")
    assert rc == 0 and "records_with_loans:" in out, "onloan stats: exit %d: %s%s" % (rc, out, err)
    assert "warning: %s: privacy.patron_key: a secret in a config file" % path in err, err
    assert "warning: %s: onloand refuses to run with secrets others can read" % path in err, err
    # 0600: fine
    os.chmod(path, 0o600)
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 0 and "configuration is fine" in out, "0600: exit %d: %s%s" % (rc, out, err)
    assert "demo mode" not in err, err


def test_example_keys_need_demo(ctx):
    st = ctx.stack
    cfg = copy.deepcopy(st.config)
    assert cfg.get("demo") is True, "config/onloan.json should say \"demo\": true"
    del cfg["demo"]
    cfg["api_keys"] = [{"name": "ils", "key": "demo-ingest-key-change-me", "roles": ["ingest"]},
                       {"name": "short", "key": "short-key-0123456789", "roles": ["forget"]}]
    path = st.write_config(cfg, "example-keys.json")
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 1, "example keys without demo: exit %d: %s%s" % (rc, out, err)
    for key in ("privacy.patron_key", "touchpoints.token_key", "api_keys[0].key"):
        want = "%s: %s: is a key published with onloan" % (path, key)
        assert want in err, "no %r in: %s" % (want, err)
    assert "%s: api_keys[1].key: must be at least 32 characters" % path in err, err
    # the CLI refuses them as well: they are errors of the config
    rc, out, err = _run(ctx, "onloan", path, "stats")
    assert rc == 1 and "is a key published with onloan" in err, (rc, out, err)
    # "demo": true takes them, and says so
    cfg["demo"] = True
    path = st.write_config(cfg, "example-keys.json")
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 0, "demo: exit %d: %s%s" % (rc, out, err)
    assert "%s: demo mode: example keys accepted" % path in err, err


def test_demo_mode_logged_at_start(ctx):
    with open(ctx.stack.daemon_logs[-1], errors="replace") as f:
        log = f.read()
    assert "warn demo mode: example keys accepted" in log, log[-2000:]


def test_secrets_from_credentials(ctx):
    """The keys as KEY_file credential names, read from
    $CREDENTIALS_DIRECTORY as systemd's LoadCredential= leaves them: the
    daemon starts on a world-readable config (it holds no secret) and takes
    the API key of the file; a key file by path that others can read is
    refused."""
    st = ctx.stack
    creds = os.path.join(st.tmp, "credentials")
    os.makedirs(creds, mode=0o700, exist_ok=True)
    redis_pw = "redis-password-of-credentials-0123"
    for name, text in (("patron_key", PATRON_HEX + "\n"), ("token_key", TOKEN_HEX),
                       ("ingest_key", KEY_FILE_KEY + "\n"), ("redis_password", redis_pw + "\n")):
        p = os.path.join(creds, name)
        with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400), "w") as f:
            f.write(text)
    cfg = copy.deepcopy(st.config)
    del cfg["demo"]
    port = harness.free_port()
    cfg["listen"] = "127.0.0.1:%d" % port
    del cfg["privacy"]["patron_key"]
    del cfg["touchpoints"]["token_key"]
    cfg["privacy"]["patron_key_file"] = "patron_key"
    cfg["touchpoints"]["token_key_file"] = os.path.join(creds, "token_key")     # absolute works too
    cfg["api_keys"] = [{"name": "ils", "key_file": "ingest_key", "roles": ["ingest"]}]
    # Redis's password too: a user of the test's own, as onloan.conf's
    with st.redis() as r:
        r("ACL", "SETUSER", "creds", "on", ">" + redis_pw, "~*", "&*", "+@all")
    cfg["redis"]["username"] = "creds"
    del cfg["redis"]["password"]
    cfg["redis"]["password_file"] = "redis_password"
    path = st.write_config(cfg, "credentials.json", mode=0o644)
    env = {"CREDENTIALS_DIRECTORY": creds}
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 1 and ("privacy.patron_key_file: \"patron_key\" is the name of a credential, but "
                        "CREDENTIALS_DIRECTORY is not set") in err, (rc, out, err)
    rc, out, err = _run(ctx, "onloand", path, "-t", env=env)
    assert rc == 0, "credentials: exit %d: %s%s" % (rc, out, err)
    d = st.spawn_onloand("onloand-credentials", path, port, "onloand-credentials.log", env=env)
    try:
        def loans(key):
            return harness.http_request(port, "POST", "/v1/loans", body=b"[{}]", headers={
                "Authorization": "Bearer " + key, "Content-Type": "application/json"})
        # the key of the file is known: the body is what is wrong (nothing written)
        expect_json(loans(KEY_FILE_KEY), 400)
        expect_json(loans(KEY_FILE_KEY + "x"), 401)
        expect_json(loans("demo-ingest-key-change-me"), 401)
    finally:
        rc = d.stop(timeout=10)
    assert rc == 0, "onloand on credentials exited %r: %s" % (rc, d.output()[-2000:])
    # a key file by path that others can read: refused; a credential's
    # access is systemd's (an ACL shows as group bits), so not for those
    os.chmod(os.path.join(creds, "token_key"), 0o444)
    os.chmod(os.path.join(creds, "ingest_key"), 0o440)
    rc, out, err = _run(ctx, "onloand", path, "-t", env=env)
    want = ("%s: touchpoints.token_key_file: %s: its group or others can read it (mode 0444): "
            "chmod go= it" % (path, os.path.join(creds, "token_key")))
    assert rc == 1 and want in err and "ingest_key" not in err, (rc, out, err)


def test_plugin_dir_only_root_and_ours(ctx):
    st = ctx.stack
    cfg = copy.deepcopy(st.config)
    cfg["plugin_dir"] = os.path.relpath(cfg["plugin_dir"])
    path = st.write_config(cfg, "plugins.json")
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 1 and "%s: plugin_dir: must be an absolute path" % path in err, (rc, out, err)
    plugins = os.path.join(st.tmp, "plugins-shared")
    shutil.rmtree(plugins, ignore_errors=True)
    shutil.copytree(cfg_plugins(st), plugins)
    os.chmod(plugins, 0o775)
    cfg["plugin_dir"] = plugins
    path = st.write_config(cfg, "plugins.json")
    rc, out, err = _run(ctx, "onloand", path, "-t")
    want = ("catalogues[0].link: %s: writable by its group or others (mode 0775): chmod go-w it"
            % plugins)
    assert rc == 1 and want in err, (rc, out, err)
    os.chmod(plugins, 0o755)
    os.chmod(os.path.join(plugins, "template.so"), 0o666)
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 1 and "template.so: writable by its group or others (mode 0666)" in err, (rc, out, err)
    assert "catalogues[0].link" not in err, "koha.so is fine: %s" % err
    os.chmod(os.path.join(plugins, "template.so"), 0o644)
    rc, out, err = _run(ctx, "onloand", path, "-t")
    assert rc == 0 and "(plugins from %s)" % plugins in out, (rc, out, err)


def cfg_plugins(st):
    return os.path.join(st.build, "plugins")
