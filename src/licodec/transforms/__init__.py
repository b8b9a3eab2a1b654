"""Analysis and synthesis transforms (g_a, g_s) and hyper-transforms (h_a, h_s)."""
