"""Text to telephone audio: espeak-ng speaks to a WAV file, which becomes 8 kHz µ-law (PCMU)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Protocol

from collector.notify.message import Language

SAMPLE_RATE = 8000
# espeak-ng's Mandarin voice; "zh" alone may resolve to an MBROLA voice that is not installed.
VOICES: dict[Language, str] = {"en": "en", "zh": "cmn"}


class SpeechError(Exception):
    """Speech could not be synthesized; the message names the program and what to do."""


class Speech(Protocol):
    """Turns text into PCMU audio (8 kHz, one byte a sample) in a language."""

    def pcmu(self, text: str, language: Language) -> bytes:
        """The spoken `text` as µ-law bytes, or SpeechError."""
        ...


class EspeakSpeech:
    """espeak-ng (Debian package espeak-ng) run once per text; `words_per_minute` sets the pace."""

    def __init__(
        self, program: str = "espeak-ng", *, words_per_minute: int = 150, timeout: float = 30.0
    ) -> None:
        self.program = program
        self.words_per_minute = words_per_minute
        self.timeout = timeout

    def pcmu(self, text: str, language: Language) -> bytes:
        """Synthesize `text` with the language's voice and convert it for the phone line."""
        path = shutil.which(self.program)
        if path is None:
            raise SpeechError(
                f"text-to-speech program {self.program!r} not found; install the Debian "
                "package espeak-ng (apt-get install espeak-ng)"
            )
        with tempfile.TemporaryDirectory(prefix="watchkeeper-tts-") as folder:
            wav = Path(folder) / "speech.wav"
            command = [path, "-v", VOICES[language], "-s", str(self.words_per_minute)]
            try:
                subprocess.run(
                    [*command, "-w", str(wav), "--", text],
                    check=True,
                    capture_output=True,
                    timeout=self.timeout,
                )
            except subprocess.CalledProcessError as exc:
                stderr = exc.stderr.decode(errors="replace").strip()
                raise SpeechError(f"{self.program} failed ({exc.returncode}): {stderr}") from exc
            except subprocess.TimeoutExpired as exc:
                raise SpeechError(f"{self.program} took over {self.timeout:g} s") from exc
            return wav_to_pcmu(wav)


def wav_to_pcmu(path: Path) -> bytes:
    """A 16-bit PCM WAV file (any rate, mono or stereo) as 8 kHz mono µ-law."""
    with wave.open(str(path), "rb") as audio:
        if audio.getsampwidth() != 2:
            raise SpeechError(f"{path} has {8 * audio.getsampwidth()}-bit samples, not 16-bit")
        channels, rate = audio.getnchannels(), audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    samples = memoryview(frames).cast("h")[::channels].tolist()
    table = _ulaw_table()
    return bytes(table[sample & 0xFFFF] for sample in resample(samples, rate, SAMPLE_RATE))


def resample(samples: list[int], rate: int, target: int) -> list[int]:
    """Down-sample by averaging each output sample's span of input (a box low-pass filter)."""
    if rate == target or not samples:
        return list(samples)
    sums = [0, *accumulate(samples)]
    step = rate / target
    count = int(len(samples) / step)
    bounds = [int(index * step) for index in range(count + 1)]
    return [(sums[end] - sums[start]) // max(end - start, 1) for start, end in pairwise(bounds)]


def linear_to_ulaw(sample: int) -> int:
    """G.711 µ-law byte of one signed 16-bit sample (ITU-T G.711, with the usual bias of 0x84)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = magnitude.bit_length() - 8
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


@cache
def _ulaw_table() -> tuple[int, ...]:
    """µ-law bytes indexed by a sample's 16 bits read unsigned (so -1 is index 0xFFFF)."""
    return tuple(
        linear_to_ulaw(index - 0x10000 if index >= 0x8000 else index) for index in range(0x10000)
    )


SILENCE = bytes([linear_to_ulaw(0)])
