"""Sweeps: the paper's ablations (or any grid) as data, run as one command.

A sweep file (:mod:`.spec`) names a recipe, the axes of a grid of pre-training configs
and the evaluations of every point; :mod:`.grid` resolves it for a dataset into a
:class:`~skelcon.sweep.grid.Plan`; :mod:`.status` keeps the sweep directory (the plan,
each point's status, logs); :mod:`.runner` runs points here (``skelcon pretrain`` and
``skelcon eval`` subprocesses, several side by side), :mod:`.slurm` as Slurm jobs through
submitit. ``skelcon report DIR`` lays a sweep out as the paper's table
(:mod:`skelcon.report.sweep_table`). Nothing here imports torch.
"""
