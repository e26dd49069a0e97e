"""
Proctored exam attempts, provider session reviews and the Proctored Exam Results Report.

A reusable Django app that an LMS plugs into its instructor dashboard.
"""

__version__ = "0.1.0"
