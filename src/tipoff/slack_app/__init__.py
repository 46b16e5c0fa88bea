"""tipoff.slack_app"""
