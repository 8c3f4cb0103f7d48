"""Task data, the pooler comparison engine and its front ends (GLUE, stress test), and MTEB tasks from local files."""
