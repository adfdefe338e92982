"""Models: finding a base model, loading it with its LoRA adapter, and the reward model.

``resolve`` finds a model (local folder, Hub cache, the built-in default) and
guesses the backend without torch; the UI may import it, ``chat_template``
(a folder's template, read and rendered from its files) and ``templates``
(named templates, and the end-of-turn token, system role and thinking switch
a template implies). ``chat_setup`` gives a loaded tokenizer the setup's chat
format and shapes rows to it, in the engine's processes.
``lora`` and ``reward_model`` load weights and import torch inside their
functions; only the engine's processes call them.
"""
