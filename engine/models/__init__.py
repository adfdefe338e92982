"""Models: finding a base model, loading it with its LoRA adapter, and the reward model.

``resolve`` finds a model (local folder, Hub cache, the built-in default) and
guesses the backend without torch; the UI may import it and ``chat_template``.
``lora`` and ``reward_model`` load weights and import torch inside their
functions; only the engine's processes call them.
"""
