"""The paper's claims, judged from a results dict (results.json) -- never hard-coded.

Each claim gets one verdict: "reproduced", "not reproduced", or "not yet measurable" (its runs are
missing, or its precondition -- e.g. that M2 learns anything at all at this scale -- fails), and a
detail line with the numbers it was decided on.

"Learned" (the paper's "stays at uniform" vs "learns"): M2's validation bits/byte is at least
LEARN_MARGIN (1%, relative) below the better of the stream's uniform and unigram bits/byte, i.e.
M2 beat the best trivial model of its tokens by more than evaluation noise.
"""
from __future__ import annotations

import math

LEARN_MARGIN = 0.01
REPRODUCED, NOT_REPRODUCED, NOT_MEASURABLE = "reproduced", "not reproduced", "not yet measurable"


def trivial_bpb(r: dict) -> float:
    return min(r["uniform_bpb"], r["unigram_bpb"])


def learned(r: dict | None) -> bool | None:
    """True/False, or None when the method has no M2 result."""
    if not r or r.get("m2_bpb") is None:
        return None
    return r["m2_bpb"] < (1.0 - LEARN_MARGIN) * trivial_bpb(r)


def gain(r: dict) -> float:
    """Relative improvement of M2 over the best trivial model (0 = nothing learned)."""
    return 1.0 - r["m2_bpb"] / trivial_bpb(r)


def stream_curve(M: dict, stream: str) -> list[tuple[float, float]]:
    """[(FLOPs/byte, M2 bits/byte)] of a stream's runs over M2 sizes ("bytes", "bytes@m2-cpu-m",
    ...), sorted by FLOPs/byte; runs without an M2 result are left out."""
    return sorted((r["flops_per_byte"], r["m2_bpb"]) for k, r in M.items()
                  if k.split("@", 1)[0] == stream and r.get("m2_bpb") is not None)


def interpolate_log(curve: list[tuple[float, float]], x: float) -> float | None:
    """The curve's bits/byte at FLOPs/byte x, linear in log FLOPs between the two measured
    points around x (the paper's Fig. 3 axis); None outside the measured range."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            t = 0.0 if x1 == x0 else (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return y0 + t * (y1 - y0)
    return None


def windows_order_ok(gains: list[float], margin: float = LEARN_MARGIN) -> bool:
    """Gains by increasing window size: none exceeds a shorter window's by more than `margin`,
    and the shortest's exceeds the longest's by more than `margin`."""
    mono = all(gains[i] >= gains[j] - margin for i in range(len(gains))
               for j in range(i + 1, len(gains)))
    return mono and gains[0] - gains[-1] > margin


def _fmt(name: str, r: dict) -> str:
    return (f"{name}: M2 {r['m2_bpb']:.3f} vs uniform {r['uniform_bpb']:.3f} / unigram "
            f"{r['unigram_bpb']:.3f} bits/byte")


def _kendall_tau(xs, ys) -> float:
    pairs = [(i, j) for i in range(len(xs)) for j in range(i + 1, len(xs))]
    s = sum(math.copysign(1, (xs[i] - xs[j]) * (ys[i] - ys[j])) if (xs[i] - xs[j]) * (ys[i] - ys[j])
            else 0 for i, j in pairs)
    return s / len(pairs) if pairs else 0.0


def judge(results: dict) -> list[dict]:
    M = {k: v for k, v in results["methods"].items() if v.get("m2_bpb") is not None}
    any_learned = any(learned(r) for r in M.values())
    out = []

    def add(claim, verdict, detail):
        out.append({"claim": claim, "verdict": verdict, "detail": detail})

    # 1. AC and StaticAC stay at uniform.
    c = "AC and StaticAC stay at uniform (nothing learned)"
    names = [m for m in ("ac-v256", "ac-v65k", "staticac-v256", "staticac-v65k") if m in M]
    if not names:
        add(c, NOT_MEASURABLE, "no AC / StaticAC run")
    elif not any_learned:
        add(c, NOT_MEASURABLE, "no method learned anything at this scale, so staying at uniform "
            "says nothing; " + "; ".join(_fmt(m, M[m]) for m in names))
    else:
        ok = not any(learned(M[m]) for m in names)
        add(c, REPRODUCED if ok else NOT_REPRODUCED, "; ".join(_fmt(m, M[m]) for m in names))

    # 2. EqualInfoAC b16 learns.
    c = "EqualInfoAC[b16] learns"
    names = [m for m in ("equalinfo-b16-v256", "equalinfo-b16-v65k") if m in M]
    controls = [m for m in ("bytes", "sentencepiece") if m in M]
    if not names:
        add(c, NOT_MEASURABLE, "no EqualInfoAC b16 run")
    elif all(learned(M[m]) for m in names):
        add(c, REPRODUCED, "; ".join(_fmt(m, M[m]) for m in names))
    elif controls and not any(learned(M[m]) for m in controls):
        add(c, NOT_MEASURABLE, "even Bytes/SentencePiece did not learn at this scale; "
            + "; ".join(_fmt(m, M[m]) for m in names + controls))
    else:
        add(c, NOT_REPRODUCED, "; ".join(_fmt(m, M[m]) for m in names))

    # 3. v65k beats v256 (EqualInfoAC; decided on b16, the paper's headline pair).
    c = "v65k beats v256 (EqualInfoAC, same window)"
    pairs = [(b, M[f"equalinfo-b{b}-v256"], M[f"equalinfo-b{b}-v65k"]) for b in (16, 24, 32, 64, 128)
             if f"equalinfo-b{b}-v256" in M and f"equalinfo-b{b}-v65k" in M]
    detail = "; ".join(f"b{b}: v65k {hi['m2_bpb']:.3f} vs v256 {lo['m2_bpb']:.3f}"
                       for b, lo, hi in pairs)
    b16 = [p for p in pairs if p[0] == 16]
    if not b16:
        add(c, NOT_MEASURABLE, "no EqualInfoAC b16 pair" + (f"; {detail}" if detail else ""))
    elif not (learned(b16[0][1]) or learned(b16[0][2])):
        add(c, NOT_MEASURABLE, "neither EqualInfoAC b16 run learned; " + detail)
    else:
        add(c, REPRODUCED if b16[0][2]["m2_bpb"] < b16[0][1]["m2_bpb"] else NOT_REPRODUCED, detail)

    # 4. Shorter windows learn better: the gain over the trivial models falls as b grows.
    # Gains closer than LEARN_MARGIN are evaluation noise (the same margin as "learned"), so the
    # test is: non-increasing in b up to that margin, and the shortest window's gain above the
    # longest's by more than it. (A rank statistic alone, such as Kendall's tau, would order the
    # noise among windows that learned nothing; it is shown for reference.)
    c = "shorter windows learn better (gain over the trivial models falls with b)"
    per_v, parts = [], []
    for v in ("256", "65k"):
        rows = sorted((b, M[f"equalinfo-b{b}-v{v}"]) for b in (16, 24, 32, 64, 128)
                      if f"equalinfo-b{b}-v{v}" in M)
        if len(rows) >= 3:
            bs, gs = [b for b, _ in rows], [gain(r) for _, r in rows]
            ok = windows_order_ok(gs)
            per_v.append((ok, any(learned(r) for _, r in rows)))
            parts.append(f"v{v}: gain " + ", ".join(f"b{b} {g:+.1%}" for b, g in zip(bs, gs))
                         + f" ({'falls' if ok else 'does not fall'} with b within the "
                         f"{LEARN_MARGIN:.0%} margin; Kendall tau {_kendall_tau(bs, gs):+.2f})")
    if not per_v:
        add(c, NOT_MEASURABLE, "fewer than 3 window sizes at any vocabulary")
    elif not any(lr for _, lr in per_v):
        add(c, NOT_MEASURABLE, "no EqualInfoAC run learned; " + "; ".join(parts))
    else:
        add(c, REPRODUCED if all(ok for ok, lr in per_v if lr) else NOT_REPRODUCED,
            "; ".join(parts))

    # 5. GZip learns but stays worse than M1 alone.
    c = "GZip learns, but stays worse than M1 alone"
    names = [m for m in ("gzip-v256", "gzip-v65k") if m in M]
    m1 = results.get("m1", {}).get("bpb")
    if not names or m1 is None:
        add(c, NOT_MEASURABLE, "no GZip run" if not names else "no M1 bits/byte")
    else:
        d = "; ".join(_fmt(m, M[m]) for m in names) + f"; M1 alone {m1:.3f} bits/byte " \
            f"({results['m1'].get('source', '')})"
        learns = all(learned(M[m]) for m in names)
        worse = all(M[m]["m2_bpb"] > m1 for m in names)
        if not learns and not any_learned:
            add(c, NOT_MEASURABLE, "no method learned at this scale; " + d)
        else:
            add(c, REPRODUCED if learns and worse else NOT_REPRODUCED, d)

    # 6. EqualInfoAC[b16, v65k] vs Bytes at equal inference FLOPs/byte: Bytes' curve over M2
    # sizes (the scale's sweep) read at EqualInfoAC's FLOPs/byte; without a curve that spans it,
    # only a point that is better AND cheaper (or worse AND dearer) decides.
    c = "EqualInfoAC[b16, v65k] beats Bytes at equal inference FLOPs/byte"
    e, by = M.get("equalinfo-b16-v65k"), M.get("bytes")
    curve = stream_curve(M, "bytes")
    if not e or not curve:
        add(c, NOT_MEASURABLE, "needs both runs")
    else:
        f = e["flops_per_byte"]
        pts = ", ".join(f"{b:.3f} at {x:.3g}" for x, b in curve)
        d = f"EqualInfoAC[b16, v65k] {e['m2_bpb']:.3f} bits/byte at {f:.3g} FLOPs/byte; Bytes {pts}"
        at = interpolate_log(curve, f)
        if at is not None:
            d += f"; Bytes interpolated at {f:.3g}: {at:.3f}"
            add(c, REPRODUCED if e["m2_bpb"] < at else NOT_REPRODUCED, d)
        elif any(e["m2_bpb"] <= b and f <= x for x, b in curve):
            add(c, REPRODUCED, d + " (better for fewer FLOPs)")
        elif any(e["m2_bpb"] > b and f >= x for x, b in curve):
            add(c, NOT_REPRODUCED, d + " (worse for more FLOPs)")
        else:
            add(c, NOT_MEASURABLE, d + ": outside the Bytes curve, and each point differs in "
                "FLOPs/byte in the direction that favours the better one")
    return out


# ----------------------------------------------------------------------------- analyses

KL_N = 8            # the KL statements compare n = 8-bit tokens (a byte's worth of bits)
KL_NOISE_SD = 3     # |KL| within this many null standard deviations: indistinguishable from random


def kl_streams(kl: dict) -> list[str]:
    """The distinct bit streams of a KL analysis: v256 streams, a v65k stream only where its v256
    twin is missing (a v65k stream holds its twin's bits up to each document's last token)."""
    M = kl.get("methods") or {}
    return [m for m in M if not (m.endswith("-v65k") and m[:-4] + "v256" in M)]


def final_positions(r: dict) -> tuple[int | None, dict[int, dict]]:
    """(step, {position: curve row}) of the last evaluation in a run's positions_curve."""
    curve = r.get("positions_curve") or []
    if not curve:
        return None, {}
    last = max(c["step"] for c in curve)
    return last, {c["position"]: c for c in curve if c["step"] == last}


def judge_analyses(results: dict) -> list[dict]:
    """The paper's findings from its analyses (PAPER.md, "Analyses"), judged like the claims from
    results["analyses"] and the runs' per-position curves."""
    out = []

    def add(claim, verdict, detail):
        out.append({"claim": claim, "verdict": verdict, "detail": detail})
    M = results.get("methods") or {}
    an = results.get("analyses") or {}

    # Fig. 10: the first token of a window is learned best; later positions late or never.
    c = "M2 predicts a window's first token best (accuracy falls with position, Fig. 10)"
    rows = []
    for m, r in M.items():
        acc = _final_accuracy(r)
        if len(acc) > 1 and learned(r):
            rows.append((m, acc))
    if not rows:
        add(c, NOT_MEASURABLE, "no run with several tokens per window learned anything")
    else:
        ok = [acc[0] >= max(acc[1:]) for _, acc in rows]
        add(c, REPRODUCED if all(ok) else NOT_REPRODUCED,
            "; ".join(f"{m}: accuracy by position " + ", ".join(f"{a:.3f}" for a in acc)
                      for m, acc in rows))

    # Fig. 11: AC output is random; EqualInfoAC[b16] keeps the most structure of the AC family;
    # GZip the most of all compressed streams.
    every = (an.get("kl") or {}).get("methods") or {}
    kl = {m: every[m] for m in kl_streams(an.get("kl") or {})}

    def at_n(m):
        """KL of the KL_N-bit tokens of stream m (None if not analysed at that n)."""
        n = kl[m].get("n") or [] if m in kl else []
        return kl[m]["tokens"][n.index(KL_N)] if KL_N in n else None
    c = "AC output is indistinguishable from random bits (Fig. 11)"
    ac = [m for m in ("ac-v256", "ac-v65k") if m in every]
    if not ac:
        add(c, NOT_MEASURABLE, "no AC stream analysed")
    else:
        worst = max(max(abs(v) / max(sd, 1e-300) for v, sd in zip(
            every[m]["tokens"] + every[m]["ngrams"], every[m]["tokens_null_sd"] + every[m]["ngrams_null_sd"]))
            for m in ac)
        add(c, REPRODUCED if worst <= KL_NOISE_SD else NOT_REPRODUCED,
            f"{', '.join(ac)}: largest abs(KL) over n = 1..16 (tokens and n-grams) = {worst:.1f} "
            f"standard deviations of random streams (random: <= {KL_NOISE_SD})")
    c = f"EqualInfoAC[b16] keeps the most non-uniformity of the AC methods (Fig. 11, {KL_N}-bit tokens)"
    fam = {m: at_n(m) for m in kl if m.startswith(("equalinfo-", "ac-")) and at_n(m) is not None}
    b16 = {m: v for m, v in fam.items() if m.startswith("equalinfo-b16-")}
    if not b16 or len(fam) < 2:
        add(c, NOT_MEASURABLE, "needs EqualInfoAC[b16] and another AC method analysed")
    else:
        top = max(fam, key=fam.get)
        add(c, REPRODUCED if top in b16 else NOT_REPRODUCED,
            ", ".join(f"{m} {v:.3g}" for m, v in sorted(fam.items(), key=lambda kv: -kv[1])) + " bits")
    c = f"GZip keeps the most non-uniformity of the compressed streams (Fig. 11, {KL_N}-bit tokens)"
    comp = {m: at_n(m) for m in kl if not m.startswith("bytes") and at_n(m) is not None}
    gz = {m: v for m, v in comp.items() if m.startswith("gzip-")}
    if not gz or len(comp) < 2:
        add(c, NOT_MEASURABLE, "needs GZip and another compressed stream analysed")
    else:
        top = max(comp, key=comp.get)
        ranked = sorted(comp.items(), key=lambda kv: -kv[1])
        add(c, REPRODUCED if top in gz else NOT_REPRODUCED,
            ", ".join(f"{m} {v:.3g}" for m, v in ranked[:4]) + " bits (largest four); "
            + ", ".join(f"{m} {v:.3g}" for m, v in gz.items()))

    # Stability: SentencePiece stable, AC unstable, EqualInfoAC in between.
    c = "Stability: SentencePiece stable, AC unstable, EqualInfoAC in between"
    st = (an.get("stability") or {}).get("methods") or {}
    norm = {m: e["mean_normalized_levenshtein"] for m, e in st.items()}
    pairs = [(v, norm.get("sentencepiece"), norm.get(f"equalinfo-b16-{v}"), norm.get(f"ac-{v}"))
             for v in ("v256", "v65k")]
    pairs = [p for p in pairs if None not in p]
    if not pairs:
        add(c, NOT_MEASURABLE, "needs SentencePiece, AC and EqualInfoAC[b16] measured")
    else:
        ok = all(sp < eq < ac_ for _, sp, eq, ac_ in pairs)
        add(c, REPRODUCED if ok else NOT_REPRODUCED,
            "normalised Levenshtein of a sentence's tokens across contexts: " + "; ".join(
                f"{v}: SentencePiece {sp:.3f}, EqualInfoAC[b16] {eq:.3f}, AC {ac_:.3f}"
                for v, sp, eq, ac_ in pairs))
    return out


def _final_accuracy(r: dict) -> list[float]:
    """Accuracy per window position at the run's last evaluation (empty without a curve)."""
    return [row["accuracy"] for _, row in sorted(final_positions(r)[1].items())]
