"""The paper's numbers (../shared/PAPER.md: C4 validation, M2 25m), the one place they live.

The method registry (eqinfo.registry) hands each method its row of BY_METHOD as
`Method.paper`; the experiment's report and the M1 model card compare against them. Pure data:
nothing here is computed, so the file reads as a transcription of PAPER.md.
"""
from __future__ import annotations

# Per method (registry names): bytes/token, uniform / unigram bits/byte of the token stream
# ("Bits/byte of trivial models", given for v256 streams) and M2 25m bits/byte. A method the
# paper gives no number for has no key (the report shows "-").
BY_METHOD: dict[str, dict[str, float]] = {
    "bytes": {"bytes_per_token": 1.0, "uniform_bpb": 8.000, "unigram_bpb": 4.602, "m2_25m_bpb": 1.29},
    "sentencepiece": {"bytes_per_token": 4.28, "uniform_bpb": 3.497, "unigram_bpb": 2.443,
                      "m2_25m_bpb": 1.12},
    "ac-v256": {"bytes_per_token": 5.49, "uniform_bpb": 1.457, "unigram_bpb": 1.457, "m2_25m_bpb": 1.46},
    "ac-v65k": {"bytes_per_token": 10.98, "m2_25m_bpb": 1.46},
    "staticac-v256": {"bytes_per_token": 1.73, "uniform_bpb": 4.624, "unigram_bpb": 4.624,
                      "m2_25m_bpb": 4.61},
    "staticac-v65k": {"bytes_per_token": 3.46, "m2_25m_bpb": 4.61},
    "gzip-v256": {"bytes_per_token": 2.23, "uniform_bpb": 3.587, "unigram_bpb": 3.586, "m2_25m_bpb": 2.34},
    "gzip-v65k": {"bytes_per_token": 4.47, "m2_25m_bpb": 2.92},
    "equalinfo-b16-v256": {"bytes_per_token": 2.66, "uniform_bpb": 3.008, "unigram_bpb": 2.976,
                           "m2_25m_bpb": 1.47},
    "equalinfo-b16-v65k": {"bytes_per_token": 5.31, "m2_25m_bpb": 1.25},
    "equalinfo-b32-v256": {"bytes_per_token": 3.49, "uniform_bpb": 2.292, "unigram_bpb": 2.285},
    "equalinfo-b32-v65k": {"bytes_per_token": 6.97, "m2_25m_bpb": 1.95},
    "equalinfo-b64-v256": {"bytes_per_token": 4.16, "uniform_bpb": 1.923, "unigram_bpb": 1.921},
    "equalinfo-b64-v65k": {"bytes_per_token": 8.33, "m2_25m_bpb": 1.82},
    "equalinfo-b128-v256": {"bytes_per_token": 4.61, "uniform_bpb": 1.735, "unigram_bpb": 1.735},
    "equalinfo-b128-v65k": {"bytes_per_token": 9.22, "m2_25m_bpb": 1.70},
}

M1_BPB = 1.457                  # the paper's M1 ("3m") on C4 validation, full context
M1_FLOPS_PER_BYTE = 6.0e6       # its inference cost as the paper counts it
M2_25M_PARAMS = 25_165_824      # M2 25m: 6 x (4*512^2 + 3*512*2048), norms not counted
