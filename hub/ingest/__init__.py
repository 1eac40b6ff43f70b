"""MQTT ingest: subscribe, decode, normalise, batch, write, then acknowledge.

One pipeline is ``service.IngestService``, wired from parts a worker process can also use alone:

- ``mqtt``: ``make_client`` (every paho client the hub runs) and ``MqttConsumer`` (the ingest session);
- ``envelope``: ``MessageTranslator`` / ``envelope_for``, a message to its lines and dead letters;
- ``translating``: ``TranslatorThread``, which runs the translator off paho's network thread, in arrival order;
- ``batcher``: ``BatchWriter``, the writer thread (write, spool, dead letters, then ack);
- ``stats`` and ``stats_reporter``: counters, and the ``hub_stats`` points defined in ``hub_stats``;
  ``prometheus``: the pipeline's Prometheus metrics.

``citylab serve --workers N`` runs N pipelines in processes of their own: ``workers`` (each worker's identity and
status file) and ``supervisor`` (start, restart with the same identity, stop together); ``retire`` drains and ends
the session of a member that will not come back.

Nothing is imported here, so that a light user (the dashboards read ``hub_stats``) pulls in no MQTT.
"""
