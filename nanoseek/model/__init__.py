"""The DeepSeek-V3 architecture: MLA, DeepSeekMoE, MTP (one concept per module)."""
