"""SQL of the rosters domain: batches, the staging tables, and the set-based decide and apply.

A roster is staged with COPY into temporary tables of the batch's transaction (staging.py):
`chunk` (the rows being settled now), `stage` (every row of the file: the typed fields of a
valid row, or the codes of a rejected one, and the original cells), `outcome` (one row per
staged row whose outcome is not simply `created`) and `duplicates` (the NIKs the file holds
more than once). The outcomes of a chunk's rows are decided by a few statements (decide.py),
and applied by one UPDATE for replacements, one for updates and one INSERT ... SELECT for new
registrations, in NIK order so that concurrent batches take their index locks in the same
order (apply.py). The batch rows, their locks and problem rows are in batches.py; what a
batch looks up besides its file in lookups.py.
"""
