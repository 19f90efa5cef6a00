/**
 * Las palabras de las notificaciones en castellano de la Argentina: las
 * mismas claves que words.ts (el compilador lo controla), en el lenguaje de
 * la sala de control (alarma, reconocer, guardia).
 */
import type { Quality } from '../tags/quality.js';
import type { Words } from './words.js';

const veces = (n: number): string => `${n} ${n === 1 ? 'vez' : 'veces'} más`;

const QUALITY: Record<Quality, string> = {
  Good: 'buena',
  Uncertain_LastUsableValue: 'desactualizada',
  Uncertain_EngineeringUnitsExceeded: 'fuera de rango',
  Bad_WaitingForInitialData: 'esperando el primer dato',
  Bad_NoCommunication: 'sin comunicación',
  Bad_Timeout: 'sin respuesta',
  Bad_DeviceFailure: 'error del equipo',
  Bad_CommunicationError: 'error de comunicación',
  Bad_ConfigurationError: 'error de configuración',
  Bad_OutOfService: 'fuera de servicio',
};

export const es: Words = {
  numberLocale: 'es-AR',
  date: (year, month, day) => `${day}/${month}/${year}`,
  priority: { critical: 'crítica', high: 'alta', medium: 'media', low: 'baja' },
  quality: (q) => QUALITY[q as Quality] ?? q,
  yes: 'verdadero',
  no: 'falso',
  headline: {
    alarm: (priority, message) => `Alarma ${priority.toUpperCase()}: ${message}`,
    clear: (message) => `Normalizada: ${message}`,
    escalation: (message) => `ESCALADA, sigue sin reconocer: ${message}`,
    digest: (chattering, message, count) => `${chattering ? 'Intermitente' : 'Repetida'}: ${message} (${veces(count)})`,
    flood: (count) => `Avalancha de alarmas: ${count} alarmas`,
    test: 'Notificación de prueba',
  },
  lateMark: '[ATRASADA] ',
  late: (delay) => `ATRASADA: enviada ${delay} después de ocurrir (el canal no respondía, o Planta estaba detenida).`,
  label: { alarm: 'Alarma', message: 'Mensaje', time: 'Hora', source: 'Origen', raised: 'Activada', repeats: 'Repeticiones', flood: 'Avalancha', plant: 'Planta', onCall: 'De guardia' },
  raised: (when) => `${when}, sin reconocer desde entonces`,
  repeats: (count, since, chattering) => `${count} desde ${since}${chattering ? ' — intermitente: sus repeticiones se resumen, no se envían una por una' : ''}`,
  flood: (count, since) => `${count} alarmas desde ${since}; no se envían una por una. Las primeras:`,
  test: (channel) => `Esta es una prueba del canal ${channel}, enviada por planta notify test.`,
  escalates: (channels, when) => `Escala a ${channels} el ${when} si no se reconoce.`,
  link: (link) => `Ver en el HMI: ${link}`,
  signIn: 'Para reconocerla hace falta un operador con la sesión iniciada.',
  commLost: (device, description) => `Sin comunicación con ${device}${description ? ` (${description})` : ''}`,
};
