"""Mixed precision and allocator settings for training (plain PyTorch, no Kedro).

- :func:`resolve_bf16`: ``bf16: auto | true | false`` → on or off for a device, logged.
  ``auto`` turns bf16 on where the hardware multiplies bf16 natively (CUDA, CPUs with
  AMX or AVX512-BF16) and leaves it off elsewhere, where PyTorch emulates bf16 matmuls
  far slower than fp32.
- :class:`Bf16Weights`: every ``nn.Linear`` weight is held in bf16 inside the model, its
  fp32 master in the optimizer. The forward pass reads the bf16 copy as it is (no cast of
  the large weights each step), backward yields bf16 weight gradients, the optimizer
  updates the fp32 masters and refreshes the bf16 copies in one pass. The arithmetic is
  that of plain autocast (which casts the fp32 weights in every forward and the bf16
  gradients back in every backward) up to the gradient-clipping norm, read here from the
  bf16 gradients; only the tensors that live between steps differ.
- :func:`keep_freed_memory`: glibc returns every large freed block (a weight gradient, a
  cast weight: hundreds of MB each in the seed model) to the kernel and page-faults it
  back in on the next step; on the 2-core development machine those faults cost more than
  the matmuls they feed (benchmarks/results.md). Told to keep freed memory, the allocator
  reuses it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import sys
from collections.abc import Iterable, Mapping

import torch
from torch import nn

__all__ = [
    "Bf16Weights",
    "autocast",
    "cpu_bf16_units",
    "is_bf16_setting",
    "keep_freed_memory",
    "native_bf16",
    "resolve_bf16",
]

logger = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matmuls run in hardware here (CUDA, or a CPU with AMX/AVX512-BF16).

    Elsewhere autocast still works but emulates bf16 — a seed-model step took 289 s
    against 4.1 s in fp32 on an AVX2-only CPU — so ``auto`` leaves it off, the trainer
    warns when it is forced on and the ablation skips it.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def cpu_bf16_units() -> str:
    """What multiplies bf16 on this CPU, in words (for logs and reports)."""
    if torch.cpu._is_amx_tile_supported():
        return "AMX"
    if torch.cpu._is_avx512_bf16_supported():
        return "AVX512-BF16"
    return "none (emulated)"


def is_bf16_setting(value: object) -> bool:
    """Whether ``value`` is an accepted ``bf16`` parameter: ``auto``, true or false."""
    return value == "auto" or isinstance(value, bool)


def resolve_bf16(setting: bool | str, device: torch.device, where: str = "bf16") -> bool:
    """``auto`` → :func:`native_bf16`; ``True``/``False`` as given. Logged either way.

    Raises:
        ValueError: on any other value.
    """
    if not is_bf16_setting(setting):
        raise ValueError(f"{where} must be auto, true or false, got {setting!r}")
    native = native_bf16(device)
    units = "CUDA" if device.type == "cuda" else cpu_bf16_units()
    if setting == "auto":
        logger.info("%s: auto → %s (%s, native bf16 matmul: %s)", where,
                    "on" if native else "off", device, units)
        return native
    if setting and not native:
        logger.warning("%s: on, but %s has no native bf16 matmul: emulated, much slower "
                       "than fp32", where, device)
    else:
        logger.info("%s: %s (%s, native bf16 matmul: %s)", where, "on" if setting else "off",
                    device, units)
    return bool(setting)


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` when ``bf16``, else nothing."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class Bf16Weights:
    """bf16 ``nn.Linear`` weights in the model, fp32 masters in the optimizer.

    Use: build it on the model before the optimizer, give the optimizer
    :meth:`parameters`, then per step ``backward → clip_and_move() → step → refresh()``.
    :meth:`state_dict` / :meth:`load_state_dict` read and write the fp32 weights
    (checkpoints, best weights); :meth:`release` puts the fp32 masters back into the model.

    Args:
        model: the model (its Linear weights become bf16 in place).
        in_backward: move each bf16 weight gradient into its master as soon as backward has
            produced it (a post-accumulate-grad hook), so the next layer's gradient reuses
            its memory; not under DDP, whose all-reduce finishes only at the end of backward.
    """

    def __init__(self, model: nn.Module, in_backward: bool = False) -> None:
        self.weights: list[nn.Parameter] = []
        self.masters: list[nn.Parameter] = []
        self.keys: dict[str, nn.Parameter] = {}  # state_dict key -> master
        seen: dict[int, nn.Parameter] = {}
        for name, module in model.named_modules():
            if not isinstance(module, nn.Linear) or module.weight.dtype != torch.float32:
                continue
            weight = module.weight
            if id(weight) not in seen:  # a tied weight gets one master
                master = nn.Parameter(weight.detach().clone(), requires_grad=weight.requires_grad)
                weight.data = weight.data.to(torch.bfloat16)
                self.weights.append(weight)
                self.masters.append(master)
                seen[id(weight)] = master
            self.keys[f"{name}.weight" if name else "weight"] = seen[id(weight)]
        self._master_of = {id(w): m for w, m in zip(self.weights, self.masters, strict=True)}
        self._master_ids = {id(m) for m in self.masters}
        self._moved: dict[int, torch.Tensor] = {}  # id(master) -> norm of this step's gradient
        self._hooks = []
        if in_backward:
            for weight, master in zip(self.weights, self.masters, strict=True):
                self._hooks.append(weight.register_post_accumulate_grad_hook(
                    lambda w, m=master: self._move(w, m)))

    def __len__(self) -> int:
        return len(self.weights)

    def parameters(self, params: Iterable[nn.Parameter]) -> list[nn.Parameter]:
        """``params`` with every bf16 weight replaced by its fp32 master."""
        return [self._master_of.get(id(p), p) for p in params]

    @torch.no_grad()
    def _move(self, weight: nn.Parameter, master: nn.Parameter) -> None:
        """The bf16 gradient of ``weight`` into ``master``'s fp32 one (a kept buffer); its
        norm is read on the way, from half the bytes."""
        if master.grad is None:
            master.grad = torch.empty_like(master)
        master.grad.copy_(weight.grad)
        self._moved[id(master)] = torch._foreach_norm([weight.grad])[0]
        weight.grad = None

    @torch.no_grad()
    def clip_and_move(self, params: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
        """Gradient clipping by the global 2-norm, as ``nn.utils.clip_grad_norm_`` over
        ``params`` (the optimizer's: the masters and the other fp32 parameters), with the
        bf16 gradients moved into the fp32 masters (if backward has not moved them yet).
        The scale, when it clips, is applied to the fp32 gradients. Returns the total norm."""
        for weight, master in zip(self.weights, self.masters, strict=True):
            if weight.grad is not None:
                self._move(weight, master)
        for master in self.masters:
            if id(master) not in self._moved:  # no gradient this step
                master.grad = None
        grads = [m.grad for m in self.masters if id(m) in self._moved]
        small = [p.grad for p in params if id(p) not in self._master_ids and p.grad is not None]
        norms = [n.float() for n in self._moved.values()]  # bf16 norms
        norms += list(torch._foreach_norm(small)) if small else []
        self._moved.clear()
        if not norms:
            return torch.zeros(())
        total = torch.linalg.vector_norm(torch.stack(norms))
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        if _scales(scale) and grads + small:
            torch._foreach_mul_(grads + small, scale)
        return total

    @torch.no_grad()
    def refresh(self) -> None:
        """Copy the fp32 masters into the bf16 weights (after each optimizer step)."""
        if self.weights:
            torch._foreach_copy_(self.weights, self.masters)

    def state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """``model.state_dict()`` with the fp32 masters in place of the bf16 weights."""
        state = model.state_dict()
        for key, master in self.keys.items():
            if key in state:
                state[key] = master.detach()
        return state

    @torch.no_grad()
    def load_state_dict(self, model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
        """Load fp32 weights into the model and the masters."""
        model.load_state_dict(state)
        for key, master in self.keys.items():
            master.copy_(state[key])
        self.refresh()

    def release(self) -> None:
        """Give the model its fp32 weights back (the bf16 copies and hooks are dropped)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        for weight, master in zip(self.weights, self.masters, strict=True):
            weight.data = master.data
            weight.grad = None


def _scales(scale: torch.Tensor | None) -> bool:
    """Whether multiplying by ``scale`` changes anything (a CPU scalar is read for free;
    on a GPU the multiply is cheaper than the wait)."""
    if scale is None:
        return False
    return scale.device.type != "cpu" or float(scale) < 1.0


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse (Linux only; once per process).

    Large blocks are then served from the heap instead of fresh ``mmap`` pages, the heap is
    not trimmed below 2 GiB of free top, and threads started after this share the main
    arena. Freed memory stays with the process (its RSS does not shrink after a peak).

    Returns:
        Whether the settings took effect (False on other C libraries and systems).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl has no mallopt)
    except (OSError, AttributeError):
        return False
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 64 << 20),
                (_M_ARENA_MAX, 1))
    kept = all(libc.mallopt(option, value) == 1 for option, value in settings)
    if kept:
        logger.info("allocator: freed memory kept for reuse (glibc mallopt)")
    return kept
