"""conda"""
