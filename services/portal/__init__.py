"""The portal: the web pages clerks, reviewers, Home Affairs, the council and auditors use.

It is no service of the bus: it owns only its accounts and sign-in sessions, and reaches the four services
through their HTTP routes alone, on behalf of the signed-in person (``client.py``).
"""
