"""Training: the reward-model recipe (settings and plans), preparation, the Bradley-Terry trainer, LoRA SFT, and
building and evaluating the reward models rmnb trains.

- ``checkpoint_scores``   a training run's checkpoints scored with the shared-prefix scorer
- ``committed``           reward models trained once and committed under ``data/rms/`` (adapters, tables, manifests)
- ``evaluation``          what each seed of a value-neutral RM is measured on, kept as small tables per seed
- ``preparation``         pairs tokenized as the scorer tokenizes them; the base as a one-output classifier with LoRA
- ``reward_model``        Bradley-Terry training with TRL's ``RewardTrainer`` and PEFT LoRA
- ``recipe``              the training recipe: a run's settings (the presets), the held-out split, the pairs' order
- ``seed_runs``           many seeds in one command (``rmnb train-embedded ID --seeds 1-10``)
- ``sft``                 LoRA supervised fine-tuning (the "authority-boosted" model of Figure A3)
- ``trained``             building the RMs rmnb trains: from the cache, a committed adapter, or training
"""
