"""Transport collectors: Target in, Capture out.  One module per transport."""
