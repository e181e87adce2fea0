"""The production gunicorn settings (``manifattura/config/gunicorn.py``) and their environment overrides."""

import gc
import importlib

import pytest

MODULE = "manifattura.config.gunicorn"


def load(monkeypatch, **env):
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_REUSE_PORT",
                 "GUNICORN_KEEPALIVE", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = importlib.import_module(MODULE)
    return importlib.reload(module)


def test_defaults_are_threaded_workers_one_per_core_each_on_its_own_socket(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    config = load(monkeypatch)
    assert (config.worker_class, config.workers, config.threads) == ("gthread", 6, 8)
    assert config.reuse_port is True
    assert config.bind == "127.0.0.1:8000"
    assert config.keepalive == 75 and config.timeout == 120


def test_the_environment_overrides_each_setting(monkeypatch):
    config = load(monkeypatch, GUNICORN_BIND="0.0.0.0:9000", GUNICORN_WORKERS="3", GUNICORN_THREADS="16",
                  GUNICORN_REUSE_PORT="off", GUNICORN_KEEPALIVE="5", GUNICORN_TIMEOUT="30")
    assert (config.bind, config.workers, config.threads) == ("0.0.0.0:9000", 3, 16)
    assert config.reuse_port is False
    assert (config.keepalive, config.timeout) == (5, 30)


@pytest.mark.parametrize(("value", "problem"), [("eight", "must be a whole number, not 'eight'"),
                                                ("0", "must be at least 1, not 0")])
def test_a_bad_number_stops_the_server_saying_which_variable(monkeypatch, value, problem):
    with pytest.raises(SystemExit, match=f"GUNICORN_THREADS {problem}"):
        load(monkeypatch, GUNICORN_THREADS=value)


def test_a_worker_freezes_what_it_imported_so_full_collections_skip_it(monkeypatch):
    config = load(monkeypatch)
    assert gc.get_freeze_count() == 0
    try:
        config.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 1000  # the project's modules, at least
    finally:
        gc.unfreeze()


def test_gunicorn_accepts_the_file(monkeypatch):
    """gunicorn itself reads the file (as ``-c python:…`` does) and finds every setting valid."""
    from gunicorn.config import Config

    config_module = load(monkeypatch, GUNICORN_WORKERS="2")
    cfg = Config()
    for name in ("bind", "worker_class", "workers", "threads", "reuse_port", "keepalive", "timeout", "backlog",
                 "post_worker_init"):
        cfg.set(name, getattr(config_module, name))
    assert cfg.workers == 2 and cfg.reuse_port and cfg.worker_class_str == "gthread"
    assert cfg.bind == ["127.0.0.1:8000"]
    assert cfg.post_worker_init is config_module.post_worker_init
