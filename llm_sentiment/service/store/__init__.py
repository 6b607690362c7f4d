"""service/store"""
