"""evals/synth"""
