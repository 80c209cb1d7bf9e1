"""rmnb: the helper package of the executable book on *Reward Models Inherit Value Biases from Pretraining*.

Small modules, one concern each:

- ``paths``      where the repository, the user cache and the build output live
- ``data``       the registry of released files (pinned URL + sha256), fetched or read from ``RMNB_DATA_DIR``
- ``prompts``    the paper's 54 prompts and the FAccT prompts
- ``lexicons``   Big Two nouns, expanded Big Two, MFD2; LIWC ``.dic`` / ``.dicx`` parsers
- ``scores``     the released RM scores (and rmnb score folders) in long format
- ``stats``      ranks, median ranks, the mixed model, panel tests
- ``registry``   the one model registry (the paper's RMs and LLMs, the embedded offline models)
- ``viz`` / ``labels``  charts, display names and colours
- ``results``    glue values into the book and into ``_build/results/<chapter>.json``
- ``runner`` / ``cli``  execute chapters with papermill and build the book
"""

__version__ = "0.1.0"
