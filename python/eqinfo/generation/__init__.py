"""The parts of eqinfo-generate, one job a module; eqinfo.generate puts them together (generate()
and the command) and is the module to import.

    errors    GenerateError, the one error a user is shown, and the command's name
    run       a trained M2 run directory -> the model and the tokenizer of its tokens (Run)
    prompt    the prompt rule: which tokens of a prompt a sample continues from
    sampling  the token loop: M2 continues a token sequence, one whole group at a time
    decoding  sampled tokens -> text, EOS counts and the per-sample report (Generation)

docs/generation.md describes what they do.
"""
