"""rmnb: the helper package of the executable book on *Reward Models Inherit Value Biases from Pretraining*.

Subpackages by layer, lowest first. A module imports from its own layer or from the layers above it in this
list, never from one below it (``make test`` checks this with an import-linter layers contract). Each
subpackage's docstring lists its modules, one line each (a test checks that every module is listed):

- ``rmnb.base``       errors, paths and the user cache, devices and dtypes, display labels and colours, provenance
                      (package versions, git commit, file-system-safe names)
- ``rmnb.data``       the released-data registry (pinned URL + sha256, ``RMNB_DATA_DIR``), prompts, lexicons,
                      preference pairs (HH-RLHF, the value-neutral AFINN set), the resumable results store and its
                      work units, released log-prob tables, the paper's and the FAccT study's reported values
- ``rmnb.models``     the one model registry (the paper's RMs and LMs, the embedded offline models, the RMs rmnb
                      trains, as data) and loading (embedded GGUF conversion, Hub ids, local folders)
- ``rmnb.inference``  conversations and responses, reward scoring (prefix-KV reuse), log-probs, the scoring job
                      behind ``rmnb score`` (input validation, shards, the Ray executor), vocabularies and lexicon
                      matching
- ``rmnb.training``   reward-model training (the recipe, preparation, the Bradley-Terry trainer), LoRA SFT, building
                      the trained RMs (many seeds in one command) and the tables each seed is evaluated on
- ``rmnb.analysis``   statistics, one module per paper section (``dictionary`` §2, ``base_logprobs`` §3a,
                      ``implicit`` §3b, ``checkpoints`` and ``ablations`` §4, ``topk``), the FAccT token search (the
                      searches, their statistics, SMACOF MDS), the authors' double BOS (``bos``), chapter 06's
                      experiment (``value_neutral``, ``replication``), the stand-in models (``stand_ins``), chapter 07
                      (``greatest``), score tables in long format (``scores``)
- ``rmnb.charts``     altair charts, named like ``rmnb.analysis``; ``style`` holds the settings made once
- ``rmnb.book``       the chapter runtime: what chapters import while they run (parameters and their rules, glued
                      results, key findings, tables, the variant banner, the exercises' checks and reference
                      ``answers``)
- ``rmnb.seminar``    the seminar kit: ``setup``, ``doctor``, ``handout`` and its editions, ``leaks``, the seminar
                      plan, its session pages, slides and quizzes, the teacher's guide's run times
- ``rmnb.builder``    building the book: the papermill runner and its chapter cache, variant runs, the status page
                      and the generated fragments, the Sphinx extension, the paper-scale page's table (not
                      ``build``: that name is ignored by git and ruff as a build-output folder)
- ``rmnb.cli``        the ``rmnb`` command line
"""

__version__ = "0.1.0"
