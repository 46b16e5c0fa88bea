"""The CRM gateway: HubSpot's and Salesforce's APIs behind one shape (`records.CrmClient`).

Knows HTTP and each vendor's limits; knows nothing of Tipoff's database or runtime. The
sync that decides what to write and what came back is `tipoff.crm_sync`.
"""
