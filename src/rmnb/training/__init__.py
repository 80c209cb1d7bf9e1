"""Training: reward-model settings and plans, preparation, the Bradley-Terry trainer, LoRA SFT, and building the
reward models rmnb trains (:mod:`~rmnb.training.trained`).
"""
