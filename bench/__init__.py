"""The physcheck CLI, hydra configs, execution, results and reports."""
