"""tipoff.web"""
