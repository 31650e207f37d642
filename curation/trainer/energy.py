"""The energy a GPU's board draws while it trains, read from NVML (the library behind nvidia-smi).

NVML is called through ctypes on ``libnvidia-ml.so.1``, which the NVIDIA driver installs with every
GPU: no Python package is needed (the GPU images carry torch, numpy, pyarrow and fsspec only). A
background thread samples the board power every ``interval`` seconds; where the GPU keeps a
cumulative energy counter (Volta and later), the energy is the counter's difference, exact whatever
the sampling, and the samples give the mean and peak power. Where there is no GPU or no NVML there
is no meter, and runs record energy as absent (None), never as zero.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

NVML_SUCCESS = 0


@functools.cache
def _nvml() -> ctypes.CDLL | None:
    """The initialized NVML library of this process, or None where it cannot be loaded."""
    try:
        lib = ctypes.CDLL("libnvidia-ml.so.1")
        return lib if lib.nvmlInit_v2() == NVML_SUCCESS else None
    except (OSError, AttributeError):
        return None


def nvml_readers(nvml_index: int) -> tuple[Callable[[], float], Callable[[], float] | None] | None:
    """(board power in watts, cumulative energy in joules or None) readers for an NVML device index."""
    lib = _nvml()
    if lib is None:
        return None
    handle = ctypes.c_void_p()
    if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(nvml_index), ctypes.byref(handle)) != NVML_SUCCESS:
        return None

    def power_w() -> float:
        mw = ctypes.c_uint()
        if lib.nvmlDeviceGetPowerUsage(handle, ctypes.byref(mw)) != NVML_SUCCESS:
            raise OSError("nvmlDeviceGetPowerUsage failed")
        return mw.value / 1000

    def energy_j() -> float:
        mj = ctypes.c_ulonglong()
        if lib.nvmlDeviceGetTotalEnergyConsumption(handle, ctypes.byref(mj)) != NVML_SUCCESS:
            raise OSError("nvmlDeviceGetTotalEnergyConsumption failed")
        return mj.value / 1000

    try:
        power_w()
    except OSError:
        return None
    try:
        energy_j()
    except OSError:  # GPUs before Volta have no energy counter: integrate the samples instead
        return power_w, None
    return power_w, energy_j


class EnergyMeter:
    """Energy drawn between ``start()`` and now: a power-sampling thread, and the energy counter where there is one."""

    def __init__(self, read_power_w: Callable[[], float], read_energy_j: Callable[[], float] | None = None, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic):
        self.read_power_w, self.read_energy_j, self.interval, self.clock = read_power_w, read_energy_j, interval, clock
        self.source = "nvml energy counter" if read_energy_j else "nvml power samples"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._integral_j = 0.0
        self._samples = 0
        self._watts_sum = 0.0
        self._watts_max = 0.0
        self._last: tuple[float, float] | None = None  # (time, watts) of the last sample
        self._energy0: float | None = None

    @classmethod
    def for_device(cls, device: Any, interval: float = 0.1) -> EnergyMeter | None:
        """A meter for a torch CUDA device, or None (the CPU, or no NVML)."""
        if getattr(device, "type", None) != "cuda":
            return None
        import torch

        try:  # the NVML index of this CUDA device, CUDA_VISIBLE_DEVICES taken into account
            index = torch.cuda._get_nvml_device_index(device)
        except Exception:
            index = device.index or 0
        readers = nvml_readers(index)
        return cls(*readers, interval=interval) if readers else None

    def _sample(self) -> None:
        try:
            watts = self.read_power_w()
        except OSError:
            return
        now = self.clock()
        with self._lock:
            if self._last is not None:  # trapezoid rule between consecutive samples
                self._integral_j += (now - self._last[0]) * (watts + self._last[1]) / 2
            self._last = (now, watts)
            self._samples += 1
            self._watts_sum += watts
            self._watts_max = max(self._watts_max, watts)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> EnergyMeter:
        if self.read_energy_j is not None:
            self._energy0 = self.read_energy_j()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True, name="energy-meter")
        self._thread.start()
        return self

    def joules(self) -> float:
        """Energy since ``start()``: the counter's difference, else the integral of the samples."""
        if self.read_energy_j is not None and self._energy0 is not None:
            try:
                return self.read_energy_j() - self._energy0
            except OSError:
                pass
        self._sample()
        with self._lock:
            return self._integral_j

    def kwh(self) -> float:
        return self.joules() / 3.6e6

    def stop(self) -> dict[str, Any]:
        """Stop sampling; the energy, mean and peak power, and how they were measured."""
        kwh = self.kwh()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            mean = self._watts_sum / self._samples if self._samples else None
            return {"kwh": kwh, "mean_watts": mean, "max_watts": self._watts_max if self._samples else None,
                    "samples": self._samples, "source": self.source}
