"""The parts of the M1 model card, one job a module; eqinfo.m1.model_card (the command,
`python -m eqinfo.m1.model_card`) puts them together and is the module to import.

    inputs   what the card is read from: log.csv (or a snapshot's), SOURCES.md, the corpus,
             eqinfo-encode --stats-json objects (card_stats)
    measure  what the card measures: the validation subset and eqinfo-encode runs over it
    plot     the learning-curve PNG
    render   the card's markdown text from all of the above

docs/m1_training.md ("Model card") describes the card.
"""
