"""Local stand-ins for the exchanges that cannot run here: each speaks the venue's real REST protocol
for the calls the connect flow makes (time, key info, balance), verifies the venue's real request
signature (EXCHANGES.md §5 vectors), and answers with the documented response shapes and error codes."""
