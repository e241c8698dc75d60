// The MQTT plug-in: MqttClient, an MQTT 3.1.1 client on `net`, and MqttBridge,
// which puts the app on a fleet's message bus (status, events, commands).
//   import { MqttBridge } from '../src/mqtt';
//   const fleet = new MqttBridge({ host: '127.0.0.1', port: 1883, id: 'board-1' }).start();
export { MqttClient } from './client';
export type { MqttOptions, MqttState, MqttStatus, MessageListener, Will } from './client';
export { MqttBridge } from './bridge';
export type { MqttBridgeOptions, CommandHandler, BroadcastSource } from './bridge';
export { topicMatches } from './packets';
