"""The DeepSeek-V3 architecture: MLA, DeepSeekMoE, MTP (one concept per module); and llama.py,
the R1-Distill architectures (Llama, Qwen2) in one file."""
