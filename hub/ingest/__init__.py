"""MQTT ingest: subscribe, decode, normalise, batch, write, then acknowledge.

One pipeline is ``service.IngestService``, wired from parts a worker process can also use alone:

- ``mqtt``: ``make_client`` (every paho client the hub runs) and ``MqttConsumer`` (the ingest session);
- ``envelope``: ``MessageTranslator`` / ``envelope_for``, a message to its lines and dead letters;
- ``translating``: ``TranslatorThread``, which runs the translator off paho's network thread, in arrival order;
- ``batcher``: ``BatchWriter``, the writer thread (write, spool, dead letters, then ack);
- ``stats`` and ``stats_reporter``: counters, and the ``hub_stats`` points defined in ``hub_stats``.

Nothing is imported here, so that a light user (the dashboards read ``hub_stats``) pulls in no MQTT.
"""
