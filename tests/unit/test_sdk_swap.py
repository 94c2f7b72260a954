"""The rules every SDK swap follows, on a module of this test's own (not the SDK)."""
from __future__ import annotations

import os
import subprocess
import sys
import types
from typing import Iterator

import pytest

from durable_testkit._sdk_swap import ENV_STOCK_SDK, SdkSwap

_NAME = "durable_testkit_swap_target"


def stock_fn() -> str:
    return "stock"


def our_fn() -> str:
    return "ours"


class Owner:
    @classmethod
    def make(cls) -> str:
        return "stock"


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    mod = types.ModuleType(_NAME)
    mod.fn = stock_fn  # type: ignore[attr-defined]
    mod.Owner = Owner  # type: ignore[attr-defined]
    stock_make = Owner.__dict__["make"]
    sys.modules[_NAME] = mod
    try:
        yield mod
    finally:
        del sys.modules[_NAME]
        Owner.make = stock_make  # type: ignore[method-assign]


def _fn_swap(*targets: tuple) -> SdkSwap:
    return SdkSwap(targets or [(_NAME, None, "fn")], is_stock=lambda v: v is stock_fn,
                   replacement=lambda _: our_fn, is_ours=lambda v: v is our_fn)


def test_install_swaps_once_and_uninstall_puts_the_stock_value_back(
        module: types.ModuleType) -> None:
    swap = _fn_swap()
    assert swap.install(stock=False) and swap.install(stock=False)
    assert module.fn is our_fn and len(swap.swapped) == 1
    swap.uninstall()
    assert module.fn is stock_fn and not swap.installed()


def test_a_patch_is_never_replaced_nor_undone(module: types.ModuleType) -> None:
    def patched() -> str:
        return "a test's mock"

    swap = _fn_swap()
    module.fn = patched
    assert not swap.install(stock=False)
    assert module.fn is patched
    module.fn = stock_fn
    assert swap.install(stock=False)
    module.fn = patched  # patched after install: uninstall leaves it
    swap.uninstall()
    assert module.fn is patched


def test_a_missing_module_or_attribute_is_not_swapped(module: types.ModuleType) -> None:
    swap = _fn_swap(("durable_testkit_no_such_module", None, "fn"), (_NAME, "NoClass", "x"),
                    (_NAME, None, "no_attr"))
    assert not swap.install(stock=False)
    assert swap.swapped == []


def test_the_environment_keeps_the_stock_path(module: types.ModuleType,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    swap = SdkSwap([(_NAME, None, "fn")], is_stock=lambda v: v is stock_fn,
                   replacement=lambda _: our_fn, is_ours=lambda v: v is our_fn,
                   env=("DURABLE_TESTKIT_STOCK_THIS",))
    assert swap.install(stock=False)
    monkeypatch.setenv(ENV_STOCK_SDK, "1")
    assert not swap.install()  # the shared opt-out uninstalls
    assert module.fn is stock_fn
    monkeypatch.setenv(ENV_STOCK_SDK, "0")
    monkeypatch.setenv("DURABLE_TESTKIT_STOCK_THIS", " 1 ")
    assert not swap.install() and module.fn is stock_fn
    monkeypatch.delenv("DURABLE_TESTKIT_STOCK_THIS")
    assert swap.install() and module.fn is our_fn
    swap.uninstall()


def test_a_class_attribute_is_read_as_stored_and_replaced_given_the_stock_one(
        module: types.ModuleType) -> None:
    given = []

    def ours(stock: object) -> object:
        given.append(stock)
        return classmethod(lambda cls: "ours")

    stock_make = Owner.__dict__["make"]
    swap = SdkSwap([(_NAME, "Owner", "make")], is_stock=lambda v: v is stock_make,
                   replacement=ours,
                   is_ours=lambda v: isinstance(v, classmethod) and v is not stock_make)
    assert swap.install(stock=False)
    assert given == [stock_make]  # the classmethod object, not a bound method
    assert Owner.make() == "ours"
    swap.uninstall()
    assert Owner.__dict__["make"] is stock_make and Owner.make() == "stock"


def test_the_shared_opt_out_keeps_all_three_sdk_swaps_out() -> None:
    code = ("import durable_testkit._sdk, durable_testkit._sdk_context as c, "
            "durable_testkit._sdk_executor as e, durable_testkit._timestamps as t; "
            "print(c.installed(), e.installed(), t.installed())")
    for value, expected in (("1", ["False"] * 3), ("0", ["True"] * 3)):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120, env={**os.environ, ENV_STOCK_SDK: value})
        assert out.stdout.split() == expected, out.stderr
